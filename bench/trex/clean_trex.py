#!/usr/bin/env python3
"""The original K-Adapter cleaning algorithm (scripts/clean_T_REx.py func(),
spec §8.1), for benchmarks and differential tests: json.load of each file,
the same loops, the same in-place boundary rewrite. Standard library only.

usage: clean_trex.py OUT.json FILE_OR_DIR...
Writes every kept example (property ids kept as strings) as one JSON list,
in the order of the sorted inputs, like `kprep trex --min-per-relation 1
--drop "" --dev-fraction 0 --format json` writes train.json, and prints
a one-line JSON summary on stdout.
"""
import json
import os
import sys
import time


def func(file):
    examples = []
    errors = 0
    with open(file) as fin:
        elements = json.load(fin)
        for ele in elements:
            text = ele["text"]
            triples = ele["triples"]
            sentences_boundaries = ele["sentences_boundaries"]
            word_boundaries = ele["words_boundaries"]
            for tri in triples:
                sent_bound = sentences_boundaries[tri["sentence_id"]]
                entity1_index = tri["subject"]["boundaries"]
                entity1_uri = tri["subject"]["uri"]
                entity2_index = tri["object"]["boundaries"]
                entity2_uri = tri["object"]["uri"]
                predicate = tri["predicate"]["uri"].split("/")[-1]
                entity1_label = entity1_uri.split("/")[-1]
                entity2_label = entity2_uri.split("/")[-1]
                if entity1_index and entity2_index:
                    sentence = []
                    word_index_in_sentence = []
                    for word_bound in word_boundaries:
                        if word_bound[0] >= sent_bound[0] and word_bound[1] <= sent_bound[1]:
                            sentence.append(text[word_bound[0]: word_bound[1]])
                            word_index_in_sentence.append(word_bound)
                    count = 0
                    for j, word_bound in enumerate(word_index_in_sentence):
                        if word_bound[0] == entity1_index[0]:
                            entity1_index[0] = j
                            count += 1
                        if word_bound[1] == entity1_index[1]:
                            entity1_index[1] = j
                            count += 1
                        if word_bound[0] == entity2_index[0]:
                            entity2_index[0] = j
                            count += 1
                        if word_bound[1] == entity2_index[1]:
                            entity2_index[1] = j
                            count += 1
                    if count != 4:
                        errors += 1
                        continue
                    examples.append({
                        "docid": ele["docid"].split("/")[-1],
                        "token": sentence,
                        "relation": predicate,
                        "subj_start": entity1_index[0],
                        "subj_end": entity1_index[1],
                        "obj_start": entity2_index[0],
                        "obj_end": entity2_index[1],
                        "subj_label": entity1_label,
                        "obj_label": entity2_label,
                    })
    return [examples], errors


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    files = []
    for p in sys.argv[2:]:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".json")]
        else:
            files.append(p)
    files.sort()
    start = time.time()
    examples, size, dropped = [], 0, 0
    for f in files:
        res, errors = func(f)
        examples += res[0]
        dropped += errors
        size += os.path.getsize(f)
    with open(out, "w") as fout:
        json.dump(examples, fout)
    secs = time.time() - start
    print(json.dumps({"files": len(files), "bytes": size, "examples": len(examples),
                      "unaligned": dropped, "seconds": round(secs, 3)}))


if __name__ == "__main__":
    main()
