package dev.lorabeam.pipeline.cli;

import picocli.CommandLine.IVersionProvider;

/** Reports the project version recorded in the jar manifest (or "dev" from classes). */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = LorabeamCli.class.getPackage().getImplementationVersion();
    return new String[] {"lorabeam " + (version == null ? "dev" : version)};
  }
}
