#!/usr/bin/env python3
"""Checks a repository that `mvn deploy -DaltDeploymentRepository=local::file://DIR` wrote: per published module
the pom, jar, -sources.jar and -javadoc.jar, each with .md5 and .sha1 files matching its bytes; the poms' fields
Maven Central requires (here or inherited from mmupt-parent); LICENSE, NOTICE and an Automatic-Module-Name in
every jar; the native kernel for each platform asked for inside the mmupt-onnx jar; and no mmupt-examples.
Usage: check_deployed.py DIR [--require-platform linux-aarch64 ...]. Prints what the layout holds."""
import hashlib
import os
import sys
import xml.etree.ElementTree as ET
import zipfile

NS = {"m": "http://maven.apache.org/POM/4.0.0"}
GROUP = os.path.join("io", "github", "mmupt")
REQUIRED = ["name", "description", "url", "licenses", "developers", "scm"]


def fail(message):
    print("check_deployed: " + message, file=sys.stderr)
    sys.exit(1)


def newest(folder, suffix):
    files = sorted(f for f in os.listdir(folder) if f.endswith(suffix) and not f.endswith(suffix + ".md5"))
    files = [f for f in files if not any(f.endswith(suffix) and f[: -len(suffix)].endswith(c)
                                         for c in ("-sources", "-javadoc", "-tests"))] if suffix == ".jar" else files
    if not files:
        fail(f"{folder} has no file ending in {suffix}")
    return os.path.join(folder, files[-1])


def check_sums(path):
    data = open(path, "rb").read()
    for algo in ("md5", "sha1"):
        sidecar = path + "." + algo
        if not os.path.isfile(sidecar):
            fail(f"{path} has no .{algo} checksum")
        expected = open(sidecar).read().split()[0].strip()
        actual = hashlib.new(algo, data).hexdigest()
        if expected != actual:
            fail(f"{sidecar} says {expected}, the file's {algo} is {actual}")


def pom_fields(path):
    root = ET.parse(path).getroot()
    return {f for f in REQUIRED if root.find("m:" + f, NS) is not None}


def main():
    if len(sys.argv) < 2:
        fail("usage: check_deployed.py DIR [--require-platform P ...]")
    repo = sys.argv[1]
    platforms = ["linux-x86_64"] + [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--require-platform"]
    base = os.path.join(repo, GROUP)
    if not os.path.isdir(base):
        fail(f"nothing deployed under {base}")
    if os.path.isdir(os.path.join(base, "mmupt-examples")):
        fail("mmupt-examples was deployed; it is not a library")
    report = []
    parent_fields = set()
    for artifact in ("mmupt-parent", "mmupt-core", "mmupt-onnx"):
        versions = [v for v in os.listdir(os.path.join(base, artifact)) if os.path.isdir(os.path.join(base, artifact, v))]
        if len(versions) != 1:
            fail(f"{artifact}: expected one version, found {versions}")
        folder = os.path.join(base, artifact, versions[0])
        pom = newest(folder, ".pom")
        check_sums(pom)
        fields = pom_fields(pom)
        if artifact == "mmupt-parent":
            parent_fields = fields
            if set(REQUIRED) - fields:
                fail(f"{pom} lacks {sorted(set(REQUIRED) - fields)}")
            report.append(f"{artifact} {versions[0]}: pom with {', '.join(REQUIRED)}")
            continue
        missing = set(REQUIRED) - fields - (parent_fields - {"name", "description"})
        if missing:
            fail(f"{pom} lacks {sorted(missing)} (neither in it nor inherited)")
        jars = {}
        for kind, suffix in (("jar", ".jar"), ("sources", "-sources.jar"), ("javadoc", "-javadoc.jar")):
            path = newest(folder, suffix)
            check_sums(path)
            jars[kind] = path
        with zipfile.ZipFile(jars["jar"]) as z:
            names = set(z.namelist())
            for needed in ("META-INF/LICENSE", "META-INF/NOTICE"):
                if needed not in names:
                    fail(f"{jars['jar']} lacks {needed}")
            manifest = z.read("META-INF/MANIFEST.MF").decode()
            module = [l.split(":", 1)[1].strip() for l in manifest.splitlines() if l.startswith("Automatic-Module-Name:")]
            if not module:
                fail(f"{jars['jar']} declares no Automatic-Module-Name")
            classes = sum(1 for n in names if n.endswith(".class"))
            natives = sorted(n for n in names if "/kernel/native/" in n and not n.endswith("/"))
            if artifact == "mmupt-onnx":
                for p in platforms:
                    if not any(f"/native/{p}/" in n for n in natives):
                        fail(f"{jars['jar']} has no native kernel for {p} (it has {natives})")
        with zipfile.ZipFile(jars["javadoc"]) as z:
            if "index.html" not in z.namelist():
                fail(f"{jars['javadoc']} has no index.html")
        with zipfile.ZipFile(jars["sources"]) as z:
            sources = sum(1 for n in z.namelist() if n.endswith(".java"))
        report.append(f"{artifact} {versions[0]}: {os.path.basename(jars['jar'])} ({classes} classes, module {module[0]}"
                      + (f", native {', '.join(natives)}" if natives else "") + f"), sources ({sources} files), javadoc;"
                      + " pom, jars with md5 and sha1")
    print("check_deployed: the deployed layout is complete")
    for line in report:
        print("  " + line)


main()
