package io.github.mmupt.onnx.lora;

/**
 * One adapted projection: the frozen weight {@code W [in x out]} of a {@code MatMul(X, W)} and the two graph
 * inputs that carry its adapter in PEFT's layout, {@code A [r x in]} and {@code B [out x r]}; the projection then
 * computes {@code X W + (alpha / r) (X A^T) B^T}.
 *
 * @param module the module's name (the weight's name without {@code .weight}), as PEFT names it
 * @param layer the decoder layer
 * @param projection the projection's short name ({@code q}, {@code down}, ...)
 * @param weight the frozen weight initializer
 * @param inFeatures in
 * @param outFeatures out
 * @param aInput the graph input carrying A
 * @param bInput the graph input carrying B
 */
public record LoraTarget(String module, int layer, String projection, String weight, int inFeatures, int outFeatures,
        String aInput, String bInput) {
}
