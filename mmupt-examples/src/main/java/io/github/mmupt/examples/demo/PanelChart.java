package io.github.mmupt.examples.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Curves people can read: one panel per signal in a grid, methods by colour, each seed a thin line and the
 * methods' mean over seeds a bold one, events (guard decisions) as markers on the panels that ask for them.
 */
public final class PanelChart {

    /** One method's curve for one seed: x and y of equal length, and the x of its events. */
    public record Curve(String method, long seed, List<Double> x, List<Double> y, List<Double> eventX) {
    }

    /** A panel: its title and, per method, the curves of every seed. */
    public record Panel(String title, List<Curve> curves, boolean showEvents) {
    }

    /**
     * One key of rows that each carry a {@code "step"} (metrics lines, window reports) as a curve: rows without a
     * finite number under the key are left out; those {@code isEvent} accepts are also marked.
     */
    public static Curve curve(String method, long seed, List<Map<String, Object>> rows, String key,
            Predicate<Map<String, Object>> isEvent) {
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        List<Double> events = new ArrayList<>();
        for (Map<String, Object> row : rows) {
            if (row.get(key) instanceof Number n && Double.isFinite(n.doubleValue())) {
                double step = ((Number) row.get("step")).doubleValue();
                x.add(step);
                y.add(n.doubleValue());
                if (isEvent.test(row)) {
                    events.add(step);
                }
            }
        }
        return new Curve(method, seed, x, y, events);
    }

    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0x9467bd), new Color(0xff7f0e)};
    private static final int WIDTH = 560;
    private static final int HEIGHT = 360;
    private static final int COLUMNS = 2;

    private PanelChart() {
    }

    public static void write(Path file, String xTitle, List<Panel> panels) throws IOException {
        List<String> methods = new ArrayList<>();
        panels.forEach(p -> p.curves().forEach(c -> {
            if (!methods.contains(c.method())) {
                methods.add(c.method());
            }
        }));
        int rows = (panels.size() + COLUMNS - 1) / COLUMNS;
        BufferedImage image = new BufferedImage(COLUMNS * WIDTH, rows * HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        for (int i = 0; i < panels.size(); i++) {
            XYChart chart = chart(panels.get(i), xTitle, methods);
            g.drawImage(BitmapEncoder.getBufferedImage(chart), (i % COLUMNS) * WIDTH, (i / COLUMNS) * HEIGHT, null);
        }
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(image, "png", file.toFile());
    }

    private static XYChart chart(Panel panel, String xTitle, List<String> methods) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(panel.title()).xAxisTitle(xTitle).build();
        chart.getStyler().setLegendVisible(true);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        chart.getStyler().setChartTitleFont(chart.getStyler().getChartTitleFont().deriveFont(13f));
        for (String method : methods) {
            Color colour = PALETTE[methods.indexOf(method) % PALETTE.length];
            Color thin = new Color(colour.getRed(), colour.getGreen(), colour.getBlue(), 90);
            List<Curve> curves = panel.curves().stream().filter(c -> c.method().equals(method) && !c.x().isEmpty()).toList();
            for (Curve c : curves) {
                XYSeries s = chart.addSeries(method + " seed " + c.seed(), c.x(), c.y());
                s.setLineColor(thin);
                s.setLineWidth(1f);
                s.setMarker(SeriesMarkers.NONE);
                s.setShowInLegend(false);
                if (panel.showEvents() && !c.eventX().isEmpty()) {
                    List<Double> ey = new ArrayList<>();
                    for (double x : c.eventX()) {
                        ey.add(valueAt(c, x));
                    }
                    XYSeries e = chart.addSeries(method + " events seed " + c.seed(), c.eventX(), ey);
                    e.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                    e.setMarker(SeriesMarkers.DIAMOND);
                    e.setMarkerColor(colour);
                    e.setShowInLegend(false);
                }
            }
            if (!curves.isEmpty()) {
                Map<Double, double[]> sums = new TreeMap<>();
                for (Curve c : curves) {
                    for (int k = 0; k < c.x().size(); k++) {
                        double[] acc = sums.computeIfAbsent(c.x().get(k), x -> new double[2]);
                        acc[0] += c.y().get(k);
                        acc[1]++;
                    }
                }
                List<Double> mx = new ArrayList<>(sums.keySet());
                List<Double> my = sums.values().stream().map(a -> a[0] / a[1]).toList();
                XYSeries mean = chart.addSeries(method + (curves.size() > 1 ? " (mean of " + curves.size() + " seeds)" : ""),
                        mx, my);
                mean.setLineColor(colour);
                mean.setLineStyle(new BasicStroke(3f));
                mean.setMarker(SeriesMarkers.NONE);
            }
        }
        return chart;
    }

    private static double valueAt(Curve c, double x) {
        int k = c.x().indexOf(x);
        return k >= 0 ? c.y().get(k) : Double.NaN;
    }
}
