"""`triage demo`: about thirty made-up residents write in through the real doors, email into the
SMTP server and chat into the web chat, so a new user sees the queue fill and the replies go
out within a minute of `make run`. Nothing here is real personal data, and none of these texts
is in the training data.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage

import httpx


@dataclass(frozen=True)
class DemoMessage:
    channel: str  # email | webchat
    sender: str
    subject: str
    text: str


MESSAGES: list[DemoMessage] = [
    DemoMessage("email", "k.obrien@example.net", "Kitchen tap",
                "Hi, the cold tap in my kitchen drips all the time now. Could someone come and change the washer? "
                "I'm in most days after 1pm.\n\nThanks\nKieran O'Brien, 14 Larch Walk"),
    DemoMessage("email", "margaret.h@example.net", "STILL waiting",
                "This is the third time I am writing. The damp in my son's bedroom was reported in August, a man "
                "came, looked, said someone would be in touch and nothing. The wallpaper is black behind his bed "
                "and he is 4 with asthma. I am at the end of my tether."),
    DemoMessage("email", "cllr.ahmed@example.gov.uk", "Constituent - 22 Brook Street",
                "Dear Housing Team,\n\nI am writing on behalf of my constituent Mrs Ellis of 22 Brook Street, who "
                "has asked me to make a formal complaint. Her front door has not locked properly since June and "
                "three appointments have been missed without notice.\n\nKind regards\nCllr S. Ahmed"),
    DemoMessage("email", "p.nowak@example.net", "Prośba",
                "Dzień dobry, od tygodnia nie mam ciepłej wody w mieszkaniu. Proszę o pilną naprawę bojlera. "
                "Mam małe dziecko. Dziękuję, Piotr Nowak"),
    DemoMessage("email", "survey.reply.311@example.net", "Re: How did we do? Your repair survey",
                "Survey: 4 out of 10. The plumber was friendly but he didn't bring the right part and had to come "
                "back twice."),
    DemoMessage("email", "jean.t@example.net", "Thank you",
                "I just wanted to say a big thank you to Darren from the estates team who cleared the rubbish from "
                "our bin store so quickly. Lovely lad and very polite."),
    DemoMessage("email", "r.singh@example.net", "Rent statement",
                "Hello, please could you send me a rent statement for the last 12 months? I need it for my "
                "universal credit claim. My tenancy ref is T-10442. Regards, Ravi Singh"),
    DemoMessage("email", "amy.c@example.net", "gas smell",
                "There is a strong smell of gas in the hallway of our block by flat 6, it's been there since this "
                "morning. What should we do??"),
    DemoMessage("email", "d.walker@example.net", "Complaint response",
                "I got your stage 1 letter about the fence. I'm not happy with your response at all, you haven't "
                "dealt with the actual problem. I want it escalated to stage 2 please."),
    DemoMessage("email", "lin.w@example.net", "Neighbour noise",
                "The flat above plays loud music every night until 3am, and when I knocked he swore at me. I have "
                "kept a diary for two weeks. Can someone from the ASB team call me?"),
    DemoMessage("email", "s.ola@example.net", "Transfer list",
                "Hi, we are a family of five in a two bedroom flat. We registered for a transfer two years ago. "
                "Could you tell me what band we are in and where we are on the list?"),
    DemoMessage("email", "g.fisher@example.net", "Leaseholder service charge",
                "As a leaseholder at Riverside Court I have been charged £640 for 'major works' that I cannot see "
                "anywhere. Nobody has replied to my two previous emails about it. This is not acceptable."),
    DemoMessage("email", "carer.jo@example.net", "Mr Patel, 3 Elm Court",
                "I'm Mr Patel's carer. He is 87 and uses a wheelchair. The lift in his block has been broken for "
                "eleven days so he cannot leave his flat. Is there any news on when it will be fixed?"),
    DemoMessage("email", "t.brown@example.net", "Idea for the estate",
                "Just a suggestion - it would be nice if the communal garden had a couple of benches. Lots of older "
                "residents sit out there in the summer."),
    DemoMessage("email", "h.mensah@example.net", "Rude officer",
                "The housing officer who visited on Tuesday was extremely rude to my mother, talked over her and "
                "said she should be grateful to have a flat at all. I want to make a complaint about his "
                "behaviour."),
    DemoMessage("email", "b.kaur@example.net", "Bathroom extractor",
                "Hi there, the extractor fan in the bathroom has stopped working. Can I book a repair? Thanks"),
    DemoMessage("email", "n.evans@example.net", "Leak through ceiling",
                "Water is coming through my kitchen ceiling from the flat above, it's dripping near the light "
                "fitting. I've put a bucket down. Please send someone today."),
    DemoMessage("email", "f.rossi@example.net", "Re: Your complaint",
                "Thank you for sorting the heating and for the apology. I'm happy with how it was dealt with in "
                "the end."),
    DemoMessage("email", "w.james@example.net", "Universal credit and rent arrears",
                "I've fallen behind on rent since my hours were cut. I'm worried about losing my home. Is there "
                "anyone I can talk to about a payment plan?"),
    DemoMessage("email", "o.adeyemi@example.net", "Repairs",
                "I rang on the 2nd about the broken window catch in my daughter's room and was told 20 working "
                "days. It's now been six weeks. Nobody came, nobody called. Is this how you treat people?"),
    DemoMessage("email", "c.murphy@example.net", "Garden fence blown down",
                "The storm last night knocked down the fence panel between my garden and next door. The dog can get "
                "out now. Can you arrange a repair please?"),
    DemoMessage("email", "complaints.pat@example.net", "How to complain",
                "How do I make a complaint about the way my housing application was handled? Is there a form?"),
    DemoMessage("webchat", "", "", "hi my heating is not working since yesterday and its freezing"),
    DemoMessage("webchat", "", "", "ive been waiting 3 months for someone to fix the mould in my bathroom. "
                                   "every time i call i get told someone will ring back. nobody does. sick of it"),
    DemoMessage("webchat", "", "", "when is the bulky waste collection on the Meadow estate?"),
    DemoMessage("webchat", "", "", "Just want to say the new kitchen is lovely, the fitters were brilliant"),
    DemoMessage("webchat", "", "", "there are needles in the stairwell of block C again, kids play there"),
    DemoMessage("webchat", "", "", "My english not so good. The door of my flat broken, lock not working, "
                                   "I am woman alone with baby, please help"),
    DemoMessage("webchat", "", "", "I want to make a formal complaint. Your contractor left my garden full of "
                                   "rubble after fixing the drain and never came back."),
    DemoMessage("webchat", "", "", "can I pay my rent by card over the phone?"),
]


def send_email(host: str, port: int, to: str, demo: DemoMessage) -> None:
    message = EmailMessage()
    message["From"] = demo.sender
    message["To"] = to
    message["Subject"] = demo.subject
    message["Message-ID"] = f"<demo-{uuid.uuid4().hex}@example.net>"
    message.set_content(demo.text)
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.send_message(message)


def send_chat(base_url: str, text: str) -> None:
    """As a visitor would: open the page (cookies and form token), then post the message."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        page = client.get("/chat")
        page.raise_for_status()
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        response = client.post("/chat", data={"text": text, "csrf": csrf, "nonce": uuid.uuid4().hex},
                               headers={"Accept": "application/json"})
        response.raise_for_status()


def run(smtp_host: str, smtp_port: int, landlord_email: str, web_url: str) -> dict[str, int]:
    """Send every example; ConnectionError when the product is not running."""
    counts = {"emails": 0, "chats": 0}
    try:
        for demo in MESSAGES:
            if demo.channel == "email":
                send_email(smtp_host, smtp_port, landlord_email, demo)
                counts["emails"] += 1
            else:
                send_chat(web_url, demo.text)
                counts["chats"] += 1
    except (OSError, smtplib.SMTPException, httpx.HTTPError) as error:
        raise ConnectionError(f"{type(error).__name__}: {error}") from error
    return counts
