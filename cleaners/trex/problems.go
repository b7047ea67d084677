package trex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Messages for bad documents and triples, in words and naming the key.
// These run only on the bad path.

// noteBad records the first bad triple of the document (index ti).
func (c *Cleaner) noteBad(ti int, tri *Triple, reason string, nsent int) {
	if c.badTri.Reason != "" {
		return
	}
	c.badTri = TripleProblem{Index: ti, Reason: reason, Msg: tripleMsg(tri, reason, nsent)}
}

func tripleMsg(tri *Triple, reason string, nsent int) string {
	if reason == ReasonBadSentenceID {
		raw := trimSpace(tri.SentenceID)
		if isNull(raw) {
			return `key "sentence_id" is missing or null`
		}
		sid, ok := parseInt(raw)
		switch {
		case !ok:
			return fmt.Sprintf(`key "sentence_id" is not an integer: %s`, clip(raw))
		case sid < 0:
			return fmt.Sprintf(`"sentence_id" %d is negative`, sid)
		default:
			return fmt.Sprintf(`"sentence_id" %d is past the last sentence (the document has %d)`, sid, nsent)
		}
	}
	for _, e := range []struct {
		key string
		ent *Entity
	}{{"subject", &tri.Subject}, {"object", &tri.Object}, {"predicate", &tri.Predicate}} {
		if _, ok := parseString(e.ent.URI); !ok {
			if e.ent.URI == nil && e.ent.Boundaries == nil {
				return fmt.Sprintf("key %q is missing or has no \"uri\"", e.key)
			}
			return fmt.Sprintf("%q has no string \"uri\"", e.key)
		}
	}
	for _, e := range []struct {
		key string
		ent *Entity
	}{{"subject", &tri.Subject}, {"object", &tri.Object}} {
		switch _, _, st := parseBoundaries(e.ent.Boundaries); st {
		case bndBad:
			return fmt.Sprintf(`%q "boundaries" is not a list of integers: %s`, e.key, clip(e.ent.Boundaries))
		case bndShort:
			return fmt.Sprintf(`%q "boundaries" has one value; [start, end] needs two`, e.key)
		}
	}
	return "the triple cannot be read"
}

// clip quotes at most 40 bytes of a raw value for a message.
func clip(b []byte) string {
	b = trimSpace(b)
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// jsonKind names the JSON type of a value that starts with byte c.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "a list"
	case c == '"':
		return "a string"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return ""
}

// notObject returns why raw is not a JSON object, or "" when it starts
// like one.
func notObject(raw []byte) string {
	b := trimSpace(raw)
	if len(b) == 0 {
		return "empty document"
	}
	if b[0] == '{' {
		return ""
	}
	if k := jsonKind(b[0]); k != "" {
		return "the document is " + k + ", not an object"
	}
	return fmt.Sprintf("the document is not JSON (it starts with %s)", strconv.QuoteRune(rune(b[0])))
}

// describeInvalid explains why sonic could not decode raw, an object:
// a JSON syntax error with its byte offset in the document, or the key
// whose value has the wrong type.
func describeInvalid(raw []byte, err error) string {
	if len(raw) <= 64<<20 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		derr := dec.Decode(&v)
		var se *json.SyntaxError
		if errors.As(derr, &se) {
			return fmt.Sprintf("invalid JSON at byte %d of the document: %v", se.Offset, se)
		}
		if m, ok := v.(map[string]any); ok && derr == nil {
			if msg := wrongType(m); msg != "" {
				return msg
			}
		}
	}
	return "invalid document: " + shortErr(err)
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// wrongType finds the decoded key with a type the cleaner cannot take.
func wrongType(m map[string]any) string {
	if v, ok := m["text"]; ok && v != nil {
		if _, ok := v.(string); !ok {
			return fmt.Sprintf(`key "text" is %s, not a string`, kindOf(v))
		}
	}
	v, ok := m["triples"]
	if !ok || v == nil {
		return ""
	}
	l, ok := v.([]any)
	if !ok {
		return fmt.Sprintf(`key "triples" is %s, not a list`, kindOf(v))
	}
	for i, t := range l {
		tm, ok := t.(map[string]any)
		if !ok {
			if t == nil {
				continue
			}
			return fmt.Sprintf("triple %d is %s, not an object", i, kindOf(t))
		}
		for _, k := range []string{"subject", "object", "predicate"} {
			if e, ok := tm[k]; ok && e != nil {
				if _, ok := e.(map[string]any); !ok {
					return fmt.Sprintf("triple %d: key %q is %s, not an object", i, k, kindOf(e))
				}
			}
		}
	}
	return ""
}

// hasLoneSurrogate reports whether raw JSON holds a \uXXXX escape of a
// UTF-16 surrogate that is not part of a high-low pair.
func hasLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // \" \\ \n ...
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			continue
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if lo, ok := hex4(raw, i+8); ok && lo >= 0xdc00 && lo < 0xe000 {
					i += 11
					continue
				}
			}
			return true
		case r >= 0xdc00 && r < 0xe000:
			return true
		}
		i += 5
	}
	return false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
