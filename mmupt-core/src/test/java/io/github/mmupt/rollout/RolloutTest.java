package io.github.mmupt.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.prompt.Prompt;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RolloutTest {

    private static Rollout rollout(String answer) {
        return new Rollout(ImmutableIntArray.of(5, 6, 2), ImmutableDoubleArray.of(-0.1, -2.0, -0.5), "x",
                Optional.ofNullable(answer), FinishReason.STOP);
    }

    @Test
    void logProbsMustBeOnePerTokenFiniteAndNotPositive() {
        assertThat(rollout("3").length()).isEqualTo(3);
        assertThatThrownBy(() -> new Rollout(ImmutableIntArray.of(1, 2), ImmutableDoubleArray.of(-1), "", Optional.empty(),
                FinishReason.STOP)).hasMessageContaining("2 tokens, 1 log-probs");
        assertThatThrownBy(() -> new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(0.5), "", Optional.empty(),
                FinishReason.STOP)).hasMessageContaining("log-prob of token 0 must be finite and <= 0, got 0.5");
        assertThatThrownBy(() -> new Rollout(ImmutableIntArray.of(1), ImmutableDoubleArray.of(Double.NaN), "",
                Optional.empty(), FinishReason.LENGTH)).hasMessageContaining("NaN");
        // a corrupt model output is marked, not thrown: NaN as the last log-prob of a NON_FINITE rollout only
        assertThat(new Rollout(ImmutableIntArray.of(1, 2), ImmutableDoubleArray.of(-1, Double.NaN), "", Optional.empty(),
                FinishReason.NON_FINITE).finish()).isEqualTo(FinishReason.NON_FINITE);
        assertThatThrownBy(() -> new Rollout(ImmutableIntArray.of(1, 2), ImmutableDoubleArray.of(Double.NaN, -1), "",
                Optional.empty(), FinishReason.NON_FINITE)).hasMessageContaining("NaN");
        assertThatThrownBy(() -> new Rollout(ImmutableIntArray.of(), ImmutableDoubleArray.of(), "", Optional.empty(),
                FinishReason.STOP)).hasMessageContaining("at least one token");
    }

    @Test
    void groupsKeepTheirResponsesAndAnswersInOrder() {
        Prompt prompt = new Prompt("p", List.of(), "What is 1+2?");
        RolloutGroup group = new RolloutGroup(prompt, List.of(rollout("3"), rollout(null), rollout("4")));
        assertThat(group.answers()).containsExactly(Optional.of("3"), Optional.empty(), Optional.of("4"));
        assertThatThrownBy(() -> new RolloutGroup(prompt, List.of())).hasMessageContaining("prompt p");
    }

    @Test
    void samplingParamsDefaultToMmUptAndValidate() {
        SamplingParams p = SamplingParams.mmUpt();
        assertThat(p.responsesPerPrompt()).isEqualTo(10);
        assertThat(p.temperature()).isEqualTo(0.7);
        assertThat(p.topP()).isEqualTo(0.99);
        assertThat(p.maxNewTokens()).isEqualTo(2048);
        assertThat(p.toBuilder().topK(5).build().topK()).isEqualTo(5);
        assertThatThrownBy(() -> SamplingParams.builder().responsesPerPrompt(0).build())
                .hasMessageContaining("[1, 1024]");
        assertThatThrownBy(() -> SamplingParams.builder().minNewTokens(3000).build())
                .hasMessageContaining("minNewTokens");
        assertThatThrownBy(() -> SamplingParams.builder().temperature(0).build()).hasMessageContaining("temperature");
        assertThatThrownBy(() -> SamplingParams.builder().topP(1.5).build()).hasMessageContaining("topP");
    }
}
