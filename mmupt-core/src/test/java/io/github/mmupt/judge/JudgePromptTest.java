package io.github.mmupt.judge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class JudgePromptTest {

    private static final RgbImage IMAGE = RgbImage.of(2, 2, new byte[12]);

    @Test
    void rendersQuestionResponseAndImagesInOnePass() {
        JudgePrompt p = new JudgePrompt("{images} Q: {question} R: {response} S:", 0, 9);
        Prompt q = new Prompt("q1", List.of(IMAGE), "<image> how many red shapes ?");
        Prompt judged = p.render(q, "across Red 2 {question} <image> = \\boxed{2}", "q1#judge-0");
        assertThat(judged.question()).isEqualTo(
                "<image> Q: how many red shapes ? R: across Red 2 {question} <image > = \\boxed{2} S:");
        assertThat(judged.images()).containsExactly(IMAGE);
        assertThat(judged.id()).isEqualTo("q1#judge-0");
    }

    @Test
    void theStandardPromptUsesAOneToFiveScale() {
        JudgePrompt p = JudgePrompt.standard();
        assertThat(p.minScore()).isEqualTo(1);
        assertThat(p.maxScore()).isEqualTo(5);
        assertThat(p.normalise(1)).isEqualTo(0);
        assertThat(p.normalise(4)).isEqualTo(0.75);
        assertThat(p.render(new Prompt("q", List.of(), "What is 2+2?"), "4", "j").question())
                .contains("Question: What is 2+2?").contains("Response: 4").endsWith("Reply with \"Score: N\" only.");
    }

    @Test
    void aJudgeSummaryChecksItsCounts() {
        assertThat(new JudgeSummary(4, 3, 0.5).scoredShare()).isEqualTo(0.75);
        assertThat(new JudgeSummary(0, 0, Double.NaN).scoredShare()).isZero();
        assertThatThrownBy(() -> new JudgeSummary(2, 3, 0.5)).hasMessageContaining("scored <= responses");
        assertThatThrownBy(() -> new JudgeSummary(2, 1, 1.5)).hasMessageContaining("[0, 1]");
        assertThatThrownBy(() -> new JudgeSummary(2, 0, 0.5)).hasMessageContaining("NaN otherwise");
    }

    @Test
    void refusesTemplatesThatCannotWork() {
        assertThatThrownBy(() -> new JudgePrompt("{images} {question}", 1, 5)).hasMessageContaining("{response}");
        assertThatThrownBy(() -> new JudgePrompt("<image> {images} {question} {response}", 1, 5))
                .hasMessageContaining("{images}");
        assertThatThrownBy(() -> new JudgePrompt("{images} {question} {response}", 5, 5)).hasMessageContaining("scale");
    }
}
