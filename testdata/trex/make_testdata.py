# Builds testdata/trex: a few hand-written documents in the T-REx dump format
# (offsets in code points), with the dump's extra keys.
import json, gzip
E = "http://www.wikidata.org/entity/"
P = "http://www.wikidata.org/prop/direct/"

def doc(qid, title, sentences, triples):
    # sentences: list of word lists; words joined by spaces, sentences by a space.
    # triples: (sentence, relation, (subject QID, its words or None),
    # (object QID, its words), kind): kind "ok", "null" (no subject
    # boundaries, NoSubject aligner) or "misaligned" (the subject's end one
    # code point short of a word edge).
    text, words, sents = "", [], []
    for ws in sentences:
        if text:
            text += " "
        s0 = len(text)
        for i, w in enumerate(ws):
            if i:
                text += " "
            words.append([len(text), len(text) + len(w)])
            text += w
        sents.append([s0, len(text)])
    def span(si, surface):
        # The code-point boundaries of the words spelling surface in
        # sentence si (its first occurrence). Entities are named by their
        # words, not by word indices, so that a miscounted index cannot put
        # a fact on the wrong words (the indices of an earlier version
        # were off by one); TestSampleFacts (builders/trexrc) checks every
        # triple of the output against the words and the entities' names.
        ws, want = sentences[si], surface.split()
        base = sum(len(s) for s in sentences[:si])
        for a in range(len(ws) - len(want) + 1):
            if ws[a:a + len(want)] == want:
                return [words[base + a][0], words[base + a + len(want) - 1][1]]
        raise ValueError("%r is not in sentence %d of %s" % (surface, si, title))
    ents, trips = [], []
    for t in triples:
        si, rel, sub, obj, kind = t
        sb = span(si, sub[1]) if sub[1] else None
        ob = span(si, obj[1])
        if kind == "null":
            sb = None
        if kind == "misaligned":
            sb = [sb[0], sb[1] - 1]
        for (q, _), b in ((sub, sb), (obj, ob)):
            if b:
                ents.append({"boundaries": b, "surfaceform": text[b[0]:b[1]], "uri": E + q,
                             "annotator": "Wikidata_Spotlight_Entity_Linker"})
        ann = "NoSubject-Triple-aligner" if kind == "null" else "Simple-Aligner"
        trips.append({"sentence_id": si,
                      "predicate": {"boundaries": None, "surfaceform": None, "uri": P + rel, "annotator": ann},
                      "object": {"boundaries": ob, "surfaceform": text[ob[0]:ob[1]], "uri": E + obj[0], "annotator": "Wikidata_Spotlight_Entity_Linker"},
                      "dependency_path": None, "confidence": None,
                      "subject": {"boundaries": sb, "surfaceform": text[sb[0]:sb[1]] if sb else None, "uri": E + sub[0], "annotator": "Wikidata_Spotlight_Entity_Linker"},
                      "annotator": ann})
    return {"docid": E + qid, "title": title, "text": text, "uri": E + qid, "entities": ents,
            "words_boundaries": words, "triples": trips, "sentences_boundaries": sents}

docs1 = [
    doc("Q3343462", "Nora Zaïdi", [
        "Nora Zaïdi ( born 6 July 1965 in Bethoncourt , Doubs ) is a French politician .".split(),
        "She sat in the European Parliament from 1989 to 1994 .".split()],
        [(0, "P19", ("Q3343462", "Nora Zaïdi"), ("Q3361", "Bethoncourt"), "ok"),
         (0, "P27", ("Q3343462", "Nora Zaïdi"), ("Q142", "French"), "ok"),
         (0, "P131", ("Q3361", "Bethoncourt"), ("Q3340", "Doubs"), "ok"),
         (0, "P31", ("Q3343462", "Nora Zaïdi"), ("Q82955", "politician"), "ok"),
         (1, "P39", ("Q3343462", None), ("Q27169", "European Parliament"), "null")]),
    doc("Q174", "São Paulo", [
        "São Paulo is the largest city in Brazil .".split(),
        "It is the capital of the state of São Paulo .".split()],
        [(0, "P17", ("Q174", "São Paulo"), ("Q155", "Brazil"), "ok"),
         (1, "P1376", ("Q174", "São Paulo"), ("Q175", "São Paulo"), "misaligned"),
         (0, "P31", ("Q174", "São Paulo"), ("Q515", "city"), "ok")]),
    doc("Q31487", "Kraków", [
        "Kraków is a city on the Vistula in Poland .".split(),
        "Kraków was the capital of Poland until 1596 .".split()],
        [(0, "P17", ("Q31487", "Kraków"), ("Q36", "Poland"), "ok"),
         (0, "P206", ("Q31487", "Kraków"), ("Q548", "Vistula"), "ok"),
         (1, "P1376", ("Q31487", "Kraków"), ("Q36", "Poland"), "ok")]),
]
docs2 = [
    doc("Q1490", "Tokyo", [
        "東京 ( Tokyo ) is the capital of 日本 .".split(),
        "Its population is about 14 million .".split()],
        [(0, "P17", ("Q1490", "東京"), ("Q17", "日本"), "ok"),
         (0, "P1376", ("Q1490", "東京"), ("Q17", "日本"), "ok"),
         (1, "P1082", ("Q1490", "Its"), ("Q0", "14 million"), "ok")]),  # the subject is the pronoun
    doc("Q649", "Moscow", [
        "Москва ( Moscow ) is the capital and largest city of Russia .".split()],
        [(0, "P17", ("Q649", "Москва"), ("Q159", "Russia"), "ok"),
         (0, "P1376", ("Q649", "Moscow"), ("Q159", "Russia"), "ok")]),
]
# A straddling word entry (quirk 29) and an unknown key in Kraków's document.
docs1[2]["words_boundaries"].append([0, 9])
docs1[2]["extra_annotation"] = {"source": "hand-written for kadapter tests"}
with open("re-nlg_0-3.json", "w") as f:
    json.dump(docs1, f)
with gzip.GzipFile("re-nlg_3-5.json.gz", "wb", mtime=0) as f:
    f.write(json.dumps(docs2).encode())
