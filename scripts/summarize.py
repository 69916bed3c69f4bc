#!/usr/bin/python3
"""Record single results and total every JUnit XML file of a test run."""
import glob
import os
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape


def record(res, name, status, msg):
    body = {"pass": "", "fail": f'<failure message="{escape(msg)}"/>',
            "skip": f'<skipped message="{escape(msg)}"/>'}[status]
    with open(os.path.join(res, f"rec-{name}.xml"), "w") as f:
        f.write(f'<testsuite name="{name}"><testcase classname="squib" name="{name}">'
                f"{body}</testcase></testsuite>\n")
    print(f"{name}: {status.upper()} {msg}")


def total(res):
    p = f = s = 0
    failed = []
    for path in sorted(glob.glob(os.path.join(res, "*.xml"))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            f += 1
            failed.append(path)
            continue
        for tc in root.iter("testcase"):
            if tc.find("failure") is not None or tc.find("error") is not None:
                f += 1
                failed.append(f"{os.path.basename(path)}:{tc.get('classname')}.{tc.get('name')}")
            elif tc.find("skipped") is not None:
                s += 1
            else:
                p += 1
    for x in failed:
        print("FAILED", x)
    print(f"{p} passed, {f} failed, {s} skipped")
    return 1 if f or p == 0 else 0


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
    else:
        sys.exit(total(sys.argv[2]))
