package io.github.mmupt.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path dir;

    private static Map<String, Safetensors.Tensor> tensors() {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("weight", new Safetensors.Tensor(new long[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, 0, -0f}));
        t.put("bias", new Safetensors.Tensor(new long[] {1}, new float[] {42}));
        return t;
    }

    @Test
    void roundTripKeepsValuesShapesOrderAndMetadata() throws Exception {
        Path f = dir.resolve("head.safetensors");
        Safetensors.write(f, tensors(), Map.of("format", "test"));
        Safetensors.Contents c = Safetensors.read(f);
        assertThat(c.tensors().keySet()).containsExactly("weight", "bias");
        assertThat(c.tensors().get("weight").shape()).containsExactly(2, 3);
        assertThat(Arrays.equals(c.tensors().get("weight").values(), tensors().get("weight").values())).isTrue();
        assertThat(c.tensors().get("bias").values()).containsExactly(42f);
        assertThat(c.metadata()).containsEntry("format", "test");
    }

    @Test
    void layoutIsTheSafetensorsFormat() throws Exception {
        Path f = dir.resolve("x.safetensors");
        Safetensors.write(f, tensors(), Map.of());
        byte[] bytes = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n % 8).isZero();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertThat(header).contains("\"dtype\":\"F32\"").contains("\"data_offsets\":[0,24]").contains("[24,28]");
        assertThat(bytes.length).isEqualTo(8 + n + 28);
        assertThat(ByteBuffer.wrap(bytes, (int) (8 + n + 24), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat()).isEqualTo(42f);
    }

    @Test
    void truncatedOrForeignFilesAreRefusedWithTheReason() throws Exception {
        Path f = dir.resolve("t.safetensors");
        Safetensors.write(f, tensors(), Map.of());
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(bytes, bytes.length - 4));
        assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("tensor bias").hasMessageContaining("outside");
        Files.write(f, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("shorter than its 8-byte header length");
        Files.writeString(f, "not a tensor file at all, just text");
        assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("header length");
    }

    @Test
    void otherDtypesAndMalformedEntriesAreRefused() throws Exception {
        Path f = dir.resolve("h.safetensors");
        writeRaw(f, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
        assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("dtype BF16");
        writeRaw(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":\"big\",\"data_offsets\":[0,4]}}", 4);
        assertThatThrownBy(() -> Safetensors.read(f)).hasMessageContaining("tensor w needs");
    }

    private static void writeRaw(Path f, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.write(f, b.array());
    }
}
