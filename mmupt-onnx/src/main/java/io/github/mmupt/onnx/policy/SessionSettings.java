package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ONNX Runtime session options from {@link PolicyOptions}: threads, no spinning, full graph optimisation, and
 * the execution provider, falling back to the CPU (with a warning) where AUTO finds no CUDA.
 */
final class SessionSettings {

    private static final Logger LOG = LoggerFactory.getLogger(SessionSettings.class);

    private SessionSettings() {
    }

    /** Configures {@code so}; returns the provider actually used, "CPU" or "CUDA". */
    static String configure(OrtSession.SessionOptions so, PolicyOptions options) throws OrtException {
        so.setIntraOpNumThreads(options.intraOpThreads());
        so.setInterOpNumThreads(1);
        // idle ORT workers must not spin against the head kernel's threads
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        so.addConfigEntry("session.inter_op.allow_spinning", "0");
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (options.provider() == ExecutionProvider.CPU) {
            return "CPU";
        }
        boolean available = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        if (available) {
            try {
                so.addCUDA(0);
                return "CUDA";
            } catch (OrtException e) {
                if (options.provider() == ExecutionProvider.CUDA) {
                    throw e;
                }
                LOG.warn("the CUDA execution provider failed to start ({}); running on the CPU", e.getMessage());
                return "CPU";
            }
        }
        if (options.provider() == ExecutionProvider.CUDA) {
            throw new IllegalStateException("the CUDA execution provider is not available (build with -Pgpu for the "
                    + "onnxruntime_gpu artifact, on a machine with a GPU); available: "
                    + OrtEnvironment.getAvailableProviders());
        }
        LOG.warn("no CUDA execution provider in this ONNX Runtime ({}); running on the CPU",
                OrtEnvironment.getAvailableProviders());
        return "CPU";
    }
}
