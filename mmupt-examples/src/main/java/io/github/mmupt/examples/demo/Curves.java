package io.github.mmupt.examples.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

/**
 * The training curves of the demo as one PNG: for each seed, the MM-UPT run's mean (pseudo-)reward and its
 * pseudo-label accuracy against the hidden gold answers, and the supervised GRPO run's mean (gold) reward.
 */
final class Curves {

    private Curves() {
    }

    static void write(Path file, List<EmbeddedDefault.SeedResult> results) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(500).title("MM-UPT and supervised GRPO during training")
                .xAxisTitle("step").yAxisTitle("value").build();
        chart.getStyler().setMarkerSize(0);
        for (EmbeddedDefault.SeedResult r : results) {
            add(chart, "MM-UPT reward (seed " + r.seed() + ")", r.curves().get("upt"), "reward_mean");
            add(chart, "MM-UPT label accuracy (seed " + r.seed() + ")", r.curves().get("upt"), "label_accuracy");
            add(chart, "GRPO reward (seed " + r.seed() + ")", r.curves().get("grpo"), "reward_mean");
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(chart, file.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void add(XYChart chart, String name, List<Map<String, Object>> metrics, String key) {
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (Map<String, Object> m : metrics) {
            Object v = m.get(key);
            if (v instanceof Number n) {
                x.add(((Number) m.get("step")).doubleValue());
                y.add(n.doubleValue());
            }
        }
        if (!x.isEmpty()) {
            XYSeries s = chart.addSeries(name, x, y);
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        }
    }
}
