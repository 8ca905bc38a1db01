"""Loads an unpacked export folder with Hugging Face `datasets` and checks its card's row counts.

    mkdir ds && curl -s $Q/v1/exports/run_…/archive | tar -x -C ds
    python scripts/load-export.py ds        # needs: pip install datasets pyyaml
"""
import sys

import datasets
import yaml

path = sys.argv[1]
card = yaml.safe_load(open(f"{path}/README.md", encoding="utf-8").read().split("---\n")[1])
loaded = datasets.load_dataset(path)
print(loaded)
for split in card["dataset_info"]["splits"]:
    rows = loaded[split["name"]].num_rows
    assert rows == split["num_examples"], f"{split['name']}: card says {split['num_examples']}, loaded {rows}"
print("card row counts match:", {s["name"]: s["num_examples"] for s in card["dataset_info"]["splits"]})
