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
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            List<Double> ex = new ArrayList<>();
            if (key.equals("held_out")) {
                x.add(0.0); // the starting model
                y.add(r.start());
            }
            for (Map<String, Object> w : r.windows()) {
                if (w.get(key) instanceof Number n && Double.isFinite(n.doubleValue())) {
                    double step = ((Number) w.get("step")).doubleValue();
                    x.add(step);
                    y.add(n.doubleValue());
                    if (!"ACCEPT".equals(w.get("action")) && !"WARN".equals(w.get("action"))) {
                        ex.add(step);
                    }
                }
            }
            curves.add(new PanelChart.Curve(r.mode(), r.seed(), x, y, ex));
        }
        return new PanelChart.Panel(title, curves, events);
    }
}
