// Java servers come from Maven Central through `mvn` (its ~/.m2 cache makes a warm machine skip the
// download). Results land in a temporary folder first and are renamed when complete, so an interrupted
// install starts over cleanly.
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePackages } from './apt';
import { runCommand } from './command';

export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
}

async function ensureMaven(): Promise<void> {
  await ensurePackages(['maven', 'openjdk-17-jre-headless']);
}

/** JAVA_HOME of the `java` on PATH (Debian's OpenJDK 17 here). */
export function javaHome(): string {
  const java = execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim();
  return path.dirname(path.dirname(realpathSync(java)));
}

function pom(dependencies: MavenArtifact[]): string {
  const deps = dependencies.map(
    (d) =>
      `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version></dependency>`,
  );
  return [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>bucketflow.stack</groupId><artifactId>runtime</artifactId><version>1</version><packaging>pom</packaging>',
    '  <dependencies>',
    ...deps,
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}

async function intoFolder(target: string, fill: (partial: string) => Promise<void>): Promise<void> {
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await fill(partial);
  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
}

/** The artifacts and their runtime dependencies as jars in `libsDir`, from a pom written beside it. */
export async function copyDependencies(libsDir: string, dependencies: MavenArtifact[]): Promise<void> {
  await ensureMaven();
  const pomFile = path.join(path.dirname(libsDir), 'pom.xml');
  mkdirSync(path.dirname(libsDir), { recursive: true });
  writeFileSync(pomFile, pom(dependencies));
  await intoFolder(libsDir, async (partial) => {
    await runCommand('mvn', [
      '-B',
      '-q',
      '-f',
      pomFile,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${partial}`,
    ]);
  });
}

/** One artifact file (e.g. a distribution zip) copied into `outDir`; returns its path. */
export async function copyArtifact(outDir: string, artifact: MavenArtifact, type: string): Promise<string> {
  await ensureMaven();
  const coordinates = `${artifact.groupId}:${artifact.artifactId}:${artifact.version}:${type}`;
  await intoFolder(outDir, async (partial) => {
    await runCommand('mvn', [
      '-B',
      '-q',
      'dependency:copy',
      `-Dartifact=${coordinates}`,
      `-DoutputDirectory=${partial}`,
    ]);
  });
  return path.join(outDir, `${artifact.artifactId}-${artifact.version}.${type}`);
}
