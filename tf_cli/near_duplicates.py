"""Near duplicates: MinHash LSH over word 3-grams of an example's text fields (rensa).

One index for everything that looks for them: the validate stage (tf_cli.pipeline.validate)
drops near duplicates from the pool, and the proposal loop (tf_cli.proposals) refuses to
append them, so generate and bootstrap never queue for review what validate would drop.
The Jaccard threshold is `validate.near_duplicate_threshold` (tf_cli.settings).
"""

from __future__ import annotations

import re

from tf_cli.examples import text_values

NUM_PERM = 128
_WORD = re.compile(r"\w+")


class NearDuplicates:
    """Examples added so far, queried for one whose estimated Jaccard similarity to a
    given example reaches `threshold`."""

    def __init__(self, threshold: float):
        from rensa import RMinHashLSH

        self.threshold = threshold
        self.lsh = RMinHashLSH(threshold=threshold, num_perm=NUM_PERM, num_bands=16)
        self.hashes: list = []  # RMinHash, in insertion order: the LSH key is the position
        self.ids: list[str] = []
        # (record id, minhash) of the last record match() saw: the usual caller adds the
        # example it just matched, and hashing it twice would double the cost.
        self._last: tuple | None = None

    @staticmethod
    def _minhash(record: dict):
        from rensa import RMinHash

        shingles = []  # word 3-grams within each text field, never across two fields
        for text in text_values(record.get("inputs", {})) + text_values(record.get("outputs", {})):
            words = _WORD.findall(text.lower())
            shingles += [" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))]
        minhash = RMinHash(num_perm=NUM_PERM, seed=42)
        minhash.update(shingles)
        return minhash

    def match(self, record: dict) -> str | None:
        """The id of an indexed example near `record`, or None."""
        minhash = self._minhash(record)
        self._last = (record["id"], minhash)
        for key in self.lsh.query(minhash):
            if self.hashes[key].jaccard(minhash) >= self.threshold:
                return self.ids[key]
        return None

    def add(self, record: dict) -> None:
        last_id, minhash = self._last or (None, None)
        if last_id != record["id"]:
            minhash = self._minhash(record)
        self.lsh.insert(len(self.hashes), minhash)
        self.hashes.append(minhash)
        self.ids.append(record["id"])
