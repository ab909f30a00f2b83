package io.github.mmupt.examples.demo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Table 1 demo's training curves as panels, one per signal (held-out accuracy before and after, reward,
 * pseudo-label accuracy against the hidden gold answers, vote share, entropy, KL to the base), MM-UPT and
 * supervised GRPO by colour, each seed thin and the mean over seeds bold.
 */
final class Curves {

    private static final Map<String, String> METHODS = Map.of("upt", "MM-UPT (no labels)", "grpo", "GRPO (labels)",
            "upt_lora", "MM-UPT (LoRA)", "grpo_lora", "GRPO (LoRA)");

    /** The trained rows drawn, those of the results among MM-UPT and GRPO, head-only and LoRA. */
    private static List<String> methods(List<EmbeddedDefault.SeedResult> results) {
        return List.of("upt", "grpo", "upt_lora", "grpo_lora").stream()
                .filter(m -> results.get(0).rows().containsKey(m)).toList();
    }

    private Curves() {
    }

    static void write(Path file, List<EmbeddedDefault.SeedResult> results, long steps) throws IOException {
        List<PanelChart.Panel> panels = new ArrayList<>();
        panels.add(heldOut(results, steps));
        panels.add(panel("mean reward (MM-UPT: vote; GRPO: gold)", results, "reward_mean"));
        panels.add(panel("pseudo-label accuracy (monitoring only)", results, "label_accuracy"));
        panels.add(panel("vote share of the pseudo-label", results, "vote_share"));
        panels.add(panel("token entropy", results, "entropy"));
        panels.add(panel("KL to the base (k3)", results, "kl_mean"));
        PanelChart.write(file, "step", panels);
    }

    /** Held-out pass@1 is measured before and after training only: a two-point line per seed. */
    private static PanelChart.Panel heldOut(List<EmbeddedDefault.SeedResult> results, long steps) {
        List<PanelChart.Curve> curves = new ArrayList<>();
        for (String method : methods(results)) {
            for (EmbeddedDefault.SeedResult r : results) {
                curves.add(new PanelChart.Curve(METHODS.get(method), r.seed(), List.of(0.0, (double) steps),
                        List.of(r.rows().get("base").passAt1(), r.rows().get(method).passAt1()), List.of()));
            }
        }
        return new PanelChart.Panel("held-out pass@1 (base -> trained)", curves, false);
    }

    private static PanelChart.Panel panel(String title, List<EmbeddedDefault.SeedResult> results, String key) {
        List<PanelChart.Curve> curves = new ArrayList<>();
        for (String method : methods(results)) {
            for (EmbeddedDefault.SeedResult r : results) {
                curves.add(PanelChart.curve(METHODS.get(method), r.seed(), r.curves().getOrDefault(method, List.of()),
                        key, m -> false));
            }
        }
        return new PanelChart.Panel(title, curves, false);
    }
}
