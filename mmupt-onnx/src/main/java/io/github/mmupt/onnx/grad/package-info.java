/**
 * Reverse-mode differentiation of ONNX graphs into ONNX graphs: {@link io.github.mmupt.onnx.grad.GradientGraph}
 * takes a forward graph (a decoder) and builds the graph of the gradients with respect to chosen inputs, in
 * standard ops that ONNX Runtime runs on any execution provider. It is how gradients reach parameters deeper than
 * the LM head (LoRA adapters on the decoder's projections) without leaving ONNX Runtime.
 */
package io.github.mmupt.onnx.grad;
