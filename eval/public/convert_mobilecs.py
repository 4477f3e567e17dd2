"""Turn the MobileCS example transcripts (../shared/data/public) into replay dialogues.

    uv run python eval/public/convert_mobilecs.py

Each record's turns hold both sides; [SPEAKER 1] is the agent, [SPEAKER 2] the customer. The calls
are inbound and carry no expectations: the report counts how often the copilot offers an answer
on real customer speech (most of it is about plans and data use, which the bundled outbound
knowledge does not cover, so an offered answer is usually a false one) and lists each for review.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "data" / "public" / "mobilecs-10086-dialogues-example.json"
TARGET = Path(__file__).resolve().parent / "mobilecs.jsonl"


def main() -> None:
    lines = []
    for record in json.loads(SOURCE.read_text(encoding="utf-8")):
        turns = []
        for exchange in record["content"]:
            for key, speaker in (("[SPEAKER 1]", "agent"), ("[SPEAKER 2]", "customer")):
                text = (exchange.get(key) or "").strip()
                if text:
                    turns.append({"speaker": speaker, "text": text})
        lines.append({"id": f"mobilecs-{record['id'][:8]}", "direction": "inbound", "turns": turns})
    TARGET.write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in lines), encoding="utf-8"
    )
    print(f"{len(lines)} dialogues, {sum(len(d['turns']) for d in lines)} turns -> {TARGET}")


if __name__ == "__main__":
    main()
