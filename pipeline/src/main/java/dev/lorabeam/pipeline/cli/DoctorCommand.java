package dev.lorabeam.pipeline.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.Distributed;
import dev.lorabeam.engine.Mlx;
import dev.lorabeam.pipeline.memory.MemoryRule;
import dev.lorabeam.pipeline.memory.SystemMemory;
import dev.lorabeam.transforms.model.ModelLocator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code doctor}: what this machine offers for training, and whether everything is installed. */
@Command(
    name = "doctor",
    mixinStandardHelpOptions = true,
    description = "Print OS, chip, memory, MLX version and device, the auto memory limit, and the demo model's status.")
public final class DoctorCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    SystemMemory system = SystemMemory.read();
    out.printf("OS:            %s%n", system.os());
    out.printf("Chip:          %s%n", system.chip());
    out.printf("Memory:        %.1f GB total, %.1f GB available%n", system.totalGb(), system.availableGb());

    Mlx.ensureLoaded();
    out.printf("MLX:           %s on %s%n", Mlx.version(), describeDevice(Mlx.deviceInfoJson()));
    double limit = MemoryRule.autoLimitGb(system.availableGb(), system.totalGb());
    out.printf(
        "Memory limit:  %.1f GB if --max-memory is not given"
            + " (clamp(0.8 x %.1f GB available, 16, 120), at most 0.9 x %.1f GB physical)%n",
        limit, system.availableGb(), system.totalGb());
    out.printf("MLX limit now: %.1f GB%n", MemoryRule.bytesToGb(Mlx.memoryLimit()));
    out.printf("Distributed:   %s (data-parallel train under mlx.launch; see \"Training on several machines\")%n",
        distributedBackends());

    try {
      Path demo = ModelLocator.fromEnvironment().demoGguf();
      out.printf("Demo model:    installed (%s)%n", demo);
    } catch (ModelLocator.ModelNotFoundException e) {
      out.printf("Demo model:    missing — %s%n", e.getMessage());
    }
    out.flush();
    return 0;
  }

  /** "ring yes, mpi no, jaccl no, nccl no": which MLX distributed backends this build has. */
  static String distributedBackends() {
    StringBuilder out = new StringBuilder();
    for (String backend : Distributed.BACKENDS) {
      out.append(out.length() == 0 ? "" : ", ").append(backend).append(Distributed.isAvailable(backend) ? " yes" : " no");
    }
    return out.toString();
  }

  /** "cpu (Intel Xeon ...)" or "gpu (Apple M3 Max, applegpu_g15s)" from MLX's device info. */
  static String describeDevice(String json) throws Exception {
    JsonNode node = new ObjectMapper().readTree(json);
    StringBuilder details = new StringBuilder();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (field.getKey().equals("type") || field.getKey().equals("index")) {
        continue;
      }
      String value = field.getValue().asText();
      if (field.getKey().contains("memory")) {
        value = String.format("%.1f GB", field.getValue().asLong() / 1e9);
      }
      details.append(details.length() == 0 ? "" : ", ").append(field.getKey()).append(' ').append(value);
    }
    String type = node.path("type").asText();
    return details.length() == 0 ? type : type + " (" + details + ")";
  }
}
