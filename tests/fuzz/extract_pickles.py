"""Writes the data.pkl of each torch.save zip given to OUT_DIR/<name>.pkl.

Usage: extract_pickles.py OUT_DIR FILE.pt...
"""

import os
import sys
import zipfile


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[2:]:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
            if len(pickles) != 1:
                sys.exit("%s: expected one data.pkl, found %d" % (path, len(pickles)))
            name = os.path.splitext(os.path.basename(path))[0] + ".pkl"
            with open(os.path.join(out_dir, name), "wb") as out:
                out.write(archive.read(pickles[0]))


if __name__ == "__main__":
    main()
