package io.github.mmupt.answer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AnswerExtractorTest {

    static Stream<Arguments> boxedCases() {
        return Stream.of(
                Arguments.of("So the total is \\boxed{5}.", "5"),
                Arguments.of("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
                Arguments.of("first \\boxed{3} then corrected: \\boxed{4}", "4"),
                Arguments.of("nested \\boxed{\\sqrt{\\frac{a}{b}}} end", "\\sqrt{\\frac{a}{b}}"),
                Arguments.of("\\fbox{7}", "7"),
                Arguments.of("\\boxed{2} and then \\fbox{9}", "9"),
                Arguments.of("\\fbox{2} and then \\boxed{9}", "9"),
                Arguments.of("\\boxed { 12 }", "12"),
                Arguments.of("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
                Arguments.of("\\boxed{\\text{(A)}}", "\\text{(A)}"),
                Arguments.of("$\\boxed{x^{2}+1}$", "x^{2}+1"),
                Arguments.of("3 red + 2 blue = \\boxed{5}", "5"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("boxedCases")
    void extractsTheLastBox(String response, String expected) {
        assertThat(AnswerExtractor.boxed().extract(response)).contains(expected);
    }

    static Stream<String> noAnswer() {
        return Stream.of(
                "I think it is 5",
                "",
                "\\boxed{}",
                "\\boxed{   }",
                "truncated \\boxed{\\frac{1}{2",
                "\\boxed{3} then the model ran out of tokens \\boxed{\\frac{",
                "<answer>5</answer>",
                "The answer is 5.",
                "None");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("noAnswer")
    void noAnswerIsAbsentNotAString(String response) {
        assertThat(AnswerExtractor.boxed().extract(response)).isEmpty();
    }

    @Test
    void fallbacksAreOffByDefault() {
        AnswerExtractor extractor = AnswerExtractor.boxed();
        assertThat(extractor.usesAnswerTags()).isFalse();
        assertThat(extractor.usesAnswerIsPhrase()).isFalse();
    }

    @Test
    void answerTagsWhenEnabled() {
        AnswerExtractor extractor = AnswerExtractor.builder().answerTags(true).build();
        assertThat(extractor.extract("<think>hmm</think><answer> 42 </answer>")).contains("42");
        assertThat(extractor.extract("<answer>1</answer> no, <answer>2</answer>")).contains("2");
        assertThat(extractor.extract("<answer>so \\boxed{3}</answer>")).contains("3");
        assertThat(extractor.extract("<answer></answer>")).isEmpty();
        assertThat(extractor.extract("The answer is 5.")).isEmpty();
    }

    @Test
    void answerIsPhraseWhenEnabled() {
        AnswerExtractor extractor = AnswerExtractor.builder().answerIsPhrase(true).build();
        assertThat(extractor.extract("Counting gives 4. The answer is 4.")).contains("4");
        assertThat(extractor.extract("so the answer is: $3.5$. Done")).contains("3.5");
        assertThat(extractor.extract("The answer is 7\nThen more text")).contains("7");
        assertThat(extractor.extract("the answer is 1. No wait, the answer is 2.")).contains("2");
        assertThat(extractor.extract("the answer is")).isEmpty();
    }

    @Test
    void boxesWinOverFallbacks() {
        AnswerExtractor extractor = AnswerExtractor.builder().answerTags(true).answerIsPhrase(true).build();
        assertThat(extractor.extract("The answer is 3. <answer>4</answer> \\boxed{5}")).contains("5");
        assertThat(extractor.extract("The answer is 3. <answer>4</answer>")).contains("4");
    }

    @Test
    void aBrokenLastBoxDoesNotFallBackToTagsOrPhrases() {
        AnswerExtractor extractor = AnswerExtractor.builder().answerTags(true).answerIsPhrase(true).build();
        assertThat(extractor.extract("The answer is 3. \\boxed{4")).isEmpty();
    }

    @Test
    void nullIsRejectedWithAMessage() {
        assertThatThrownBy(() -> AnswerExtractor.boxed().extract(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("response");
    }

    @Test
    void matchingBraceSkipsEscapedBraces() {
        String text = "{a\\}b}";
        assertThat(AnswerExtractor.matchingBrace(text, 0)).isEqualTo(text.length() - 1);
        assertThat(AnswerExtractor.lastBox("\\boxed{\\}")).isEqualTo(Optional.empty());
    }
}
