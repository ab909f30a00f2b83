package io.github.mmupt.examples.demo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The continual demonstration's curves: held-out accuracy, vote share, entropy, probe flips, probe concentration
 * and learning rate per window, one panel each; unguarded, guarded and guarded-with-canary runs by colour;
 * windows where a guard held, rolled back or stopped as markers.
 */
final class ContinualCurves {

    private ContinualCurves() {
    }

    static void write(Path file, List<ContinualDemo.RunOutcome> runs) throws IOException {
        List<PanelChart.Panel> panels = new ArrayList<>();
        panels.add(panel("held-out accuracy (monitoring; markers: guard acted)", runs, "held_out", true));
        panels.add(panel("training vote share", runs, "vote_share", true));
        panels.add(panel("token entropy", runs, "entropy", false));
        panels.add(panel("probe flips vs the best version", runs, "probe_flips", true));
        panels.add(panel("probe concentration rise vs start", runs, "probe_concentration", false));
        panels.add(panel("learning rate", runs, "learning_rate", false));
        PanelChart.write(file, "step", panels);
    }

    private static PanelChart.Panel panel(String title, List<ContinualDemo.RunOutcome> runs, String key, boolean events) {
        List<PanelChart.Curve> curves = new ArrayList<>();
        for (ContinualDemo.RunOutcome r : runs) {
            List<Map<String, Object>> rows = new ArrayList<>();
            // the starting model, at step 0, for the held-out panel (the other signals start with window 1)
            rows.add(Map.of("step", 0, "held_out", r.start(), "action", "ACCEPT"));
            rows.addAll(r.windows());
            curves.add(PanelChart.curve(r.mode(), r.seed(), rows, key,
                    w -> !"ACCEPT".equals(w.get("action")) && !"WARN".equals(w.get("action"))));
        }
        return new PanelChart.Panel(title, curves, events);
    }
}
