/**
 * ONNX Runtime policies and the native gradient kernel of the LM head. Built up by the kernel and ONNX
 * policy work; see the project's CHANGELOG for what is available.
 */
package io.github.mmupt.onnx;
