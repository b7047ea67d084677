package main

// Interoperability of kadapter's Arrow output with another Arrow
// implementation: every .arrow file written by the pipeline sink, kprep
// trex and kprep features is read with the official JavaScript reader (npm
// apache-arrow, scripts/install-arrow-js.sh, found through
// KADAPTER_ARROW_JS) and must give, column by column, the rows the Go
// reader gives. The "huggingface" schema metadata must parse the way
// datasets parses it (Features.from_dict: Value, Sequence, List, LargeList,
// ClassLabel, dicts, one-element lists) and describe exactly the Arrow type
// of its column (datasets' get_nested_type), so that
// datasets.Dataset.from_file loads the files with these features.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/pipeline"
)

// arrowJSDir returns the install folder of the JavaScript Arrow reader, or
// skips the test (naming the variable) when KADAPTER_ARROW_JS is unset;
// under CI=true it fails instead (CI installs the reader).
func arrowJSDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KADAPTER_ARROW_JS")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KADAPTER_ARROW_JS not set, and CI must run every test: export KADAPTER_ARROW_JS=$(scripts/install-arrow-js.sh)")
		}
		t.Skip("KADAPTER_ARROW_JS not set: export KADAPTER_ARROW_JS=$(scripts/install-arrow-js.sh) to check the Arrow files with apache-arrow (JavaScript)")
	}
	return dir
}

// jsDump is what scripts/arrow-dump.js prints for one file.
type jsDump struct {
	File              string `json:"file"`
	ArrowJSVersion    string `json:"arrow_js_version"`
	Batches           int    `json:"batches"`
	NumRows           int    `json:"num_rows"`
	CompressedBuffers int    `json:"compressed_buffers"`
	Schema            struct {
		Fields []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Nullable bool   `json:"nullable"`
		} `json:"fields"`
		Metadata map[string]string `json:"metadata"`
	} `json:"schema"`
	Rows []map[string]any `json:"rows"`
}

// dumpJS reads files with the JavaScript reader (one node process).
func dumpJS(t *testing.T, files []string) []jsDump {
	t.Helper()
	dir := arrowJSDir(t)
	script := filepath.Join(testshared.RepoRoot(), "scripts", "arrow-dump.js")
	cmd := exec.Command("node", append([]string{script}, files...)...)
	cmd.Env = append(os.Environ(), "KADAPTER_ARROW_JS="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var dumps []jsDump
	for {
		var d jsDump
		if err := dec.Decode(&d); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("arrow-dump output: %v", err)
		}
		dumps = append(dumps, d)
	}
	if len(dumps) != len(files) {
		t.Fatalf("arrow-dump gave %d results for %d files", len(dumps), len(files))
	}
	return dumps
}

// typeString renders an Arrow type in the notation of arrow-dump.js
// (pyarrow's, with datasets' float names), independently of the JS code.
func typeString(t arrow.DataType) string {
	field := func(f arrow.Field) string {
		s := f.Name + ": " + typeString(f.Type)
		if !f.Nullable {
			s += " not null"
		}
		return s
	}
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.LARGE_STRING:
		return "large_string"
	case arrow.BINARY:
		return "binary"
	case arrow.LARGE_BINARY:
		return "large_binary"
	case arrow.BOOL:
		return "bool"
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return t.Name()
	case arrow.FLOAT16:
		return "float16"
	case arrow.FLOAT32:
		return "float32"
	case arrow.FLOAT64:
		return "float64"
	case arrow.LIST:
		return "list<" + field(t.(*arrow.ListType).ElemField()) + ">"
	case arrow.LARGE_LIST:
		return "large_list<" + field(t.(*arrow.LargeListType).ElemField()) + ">"
	case arrow.FIXED_SIZE_LIST:
		ft := t.(*arrow.FixedSizeListType)
		return fmt.Sprintf("fixed_size_list<%s>[%d]", field(ft.ElemField()), ft.Len())
	case arrow.STRUCT:
		var parts []string
		for _, f := range t.(*arrow.StructType).Fields() {
			parts = append(parts, field(f))
		}
		return "struct<" + strings.Join(parts, ", ") + ">"
	}
	return "unsupported:" + t.String()
}

// goCell converts cell i of a into the values arrow-dump.js prints (after
// normalize): json.Number for integers, float64 (or "NaN"/"Infinity"/
// "-Infinity") for floats, hex for binary, []any, map[string]any, nil.
func goCell(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	float := func(f float64) any {
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return f
	}
	list := func(values arrow.Array, start, end int) any {
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, goCell(values, j))
		}
		return out
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return hex.EncodeToString(a.Value(i))
	case *array.LargeBinary:
		return hex.EncodeToString(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return json.Number(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int16:
		return json.Number(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int32:
		return json.Number(strconv.FormatInt(int64(a.Value(i)), 10))
	case *array.Int64:
		return json.Number(strconv.FormatInt(a.Value(i), 10))
	case *array.Uint8:
		return json.Number(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint16:
		return json.Number(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint32:
		return json.Number(strconv.FormatUint(uint64(a.Value(i)), 10))
	case *array.Uint64:
		return json.Number(strconv.FormatUint(a.Value(i), 10))
	case *array.Float16:
		return float(float64(a.Value(i).Float32()))
	case *array.Float32:
		return float(float64(a.Value(i)))
	case *array.Float64:
		return float(a.Value(i))
	case *array.List:
		s, e := a.ValueOffsets(i)
		return list(a.ListValues(), int(s), int(e))
	case *array.LargeList:
		s, e := a.ValueOffsets(i)
		return list(a.ListValues(), int(s), int(e))
	case *array.FixedSizeList:
		n := int(a.DataType().(*arrow.FixedSizeListType).Len())
		off := a.Offset() + i
		return list(a.ListValues(), off*n, (off+1)*n)
	case *array.Struct:
		o := map[string]any{}
		for k, f := range a.DataType().(*arrow.StructType).Fields() {
			o[f.Name] = goCell(a.Field(k), i)
		}
		return o
	}
	return fmt.Sprintf("unsupported %T", a)
}

// normalize turns a value decoded from arrow-dump.js (UseNumber) into the
// form goCell gives, guided by the Arrow type of the column.
func normalize(v any, t arrow.DataType) any {
	if v == nil {
		return nil
	}
	switch t.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				return "bad float " + n.String()
			}
			return f
		}
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
		xs, ok := v.([]any)
		if !ok {
			return v
		}
		et := t.(arrow.ListLikeType).Elem()
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = normalize(x, et)
		}
		return out
	case arrow.STRUCT:
		o, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := map[string]any{}
		for _, f := range t.(*arrow.StructType).Fields() {
			out[f.Name] = normalize(o[f.Name], f.Type)
		}
		return out
	}
	return v
}

// goRead reads one file with the pipeline's (Go) reader.
func goRead(t *testing.T, path string) (*arrow.Schema, []map[string]any) {
	t.Helper()
	var rows []map[string]any
	schema, err := pipeline.ReadArrow([]string{path}, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = goCell(rec.Column(c), i)
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Go reader: %v", err)
	}
	return schema, rows
}

// interopResult summarises checkArrowInterop.
type interopResult struct {
	files, rows, compressedBuffers int
	version                        string
	dumps                          []jsDump // what the JS reader gave, per file
}

// checkArrowInterop reads every file with both readers and compares the
// schemas, the metadata, the HF features and every cell.
func checkArrowInterop(t *testing.T, files []string) interopResult {
	t.Helper()
	dumps := dumpJS(t, files)
	res := interopResult{dumps: dumps}
	for k, path := range files {
		d := dumps[k]
		res.files++
		res.version = d.ArrowJSVersion
		res.compressedBuffers += d.CompressedBuffers
		schema, goRows := goRead(t, path)
		name := filepath.Base(path)
		fields := schema.Fields()
		if len(d.Schema.Fields) != len(fields) {
			t.Fatalf("%s: JS reader sees %d columns, Go %d", name, len(d.Schema.Fields), len(fields))
		}
		for i, f := range fields {
			jf := d.Schema.Fields[i]
			if jf.Name != f.Name || jf.Type != typeString(f.Type) || jf.Nullable != f.Nullable {
				t.Errorf("%s: column %d: JS reader sees %s %s nullable=%v, Go %s %s nullable=%v",
					name, i, jf.Name, jf.Type, jf.Nullable, f.Name, typeString(f.Type), f.Nullable)
			}
		}
		goMeta := map[string]string{}
		md := schema.Metadata()
		for i, key := range md.Keys() {
			goMeta[key] = md.Values()[i]
		}
		if !reflect.DeepEqual(goMeta, d.Schema.Metadata) {
			t.Errorf("%s: metadata: JS reader %q, Go %q", name, d.Schema.Metadata, goMeta)
		}
		checkHFMetadata(t, name, schema, d.Schema.Metadata[pipeline.HFMetadataKey])
		if d.NumRows != len(goRows) || len(d.Rows) != len(goRows) {
			t.Fatalf("%s: JS reader gives %d rows, Go %d", name, d.NumRows, len(goRows))
		}
		res.rows += len(goRows)
		bad := 0
		for _, f := range fields {
			for r := range goRows {
				js := normalize(d.Rows[r][f.Name], f.Type)
				if !reflect.DeepEqual(js, goRows[r][f.Name]) {
					if bad++; bad <= 10 {
						t.Errorf("%s: column %s, row %d: JS reader %#v, Go %#v", name, f.Name, r, js, goRows[r][f.Name])
					}
				}
			}
		}
	}
	return res
}

// hfFeature is a datasets feature as Features.from_dict builds it
// (datasets 4 classes; Sequence is resolved as datasets resolves it).
type hfFeature struct {
	kind   string // Value, ClassLabel, List, LargeList, dict
	dtype  string // Value
	length int    // List: -1 or the fixed length
	elem   *hfFeature
	keys   []string // dict, in order
	fields map[string]*hfFeature
}

// datasetsDtypes maps the Value dtypes datasets accepts (string_to_arrow;
// "float" and "double" are its aliases) to our type notation.
var datasetsDtypes = map[string]string{
	"null": "null", "bool": "bool", "string": "string", "large_string": "large_string",
	"binary": "binary", "large_binary": "large_binary",
	"int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
	"uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
	"float16": "float16", "float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
}

// orderedKeys returns the keys of a JSON object in order.
func orderedKeys(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	return keys, m, nil
}

// parseFeature mirrors datasets' generate_from_dict.
func parseFeature(raw json.RawMessage) (*hfFeature, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var xs []json.RawMessage
		if err := json.Unmarshal(raw, &xs); err != nil {
			return nil, err
		}
		if len(xs) != 1 {
			return nil, fmt.Errorf("list feature with %d elements (datasets wants one)", len(xs))
		}
		e, err := parseFeature(xs[0])
		if err != nil {
			return nil, err
		}
		return &hfFeature{kind: "List", length: -1, elem: e}, nil
	}
	keys, m, err := orderedKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("feature %s: %v", raw, err)
	}
	var typ string
	if rawType, ok := m["_type"]; !ok || json.Unmarshal(rawType, &typ) != nil {
		f := &hfFeature{kind: "dict", keys: keys, fields: map[string]*hfFeature{}}
		for _, k := range keys {
			if f.fields[k], err = parseFeature(m[k]); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return f, nil
	}
	length := -1
	if l, ok := m["length"]; ok {
		if err := json.Unmarshal(l, &length); err != nil {
			return nil, fmt.Errorf("length %s: %v", l, err)
		}
	}
	elem := func() (*hfFeature, error) {
		fr, ok := m["feature"]
		if !ok {
			return nil, fmt.Errorf("%s without \"feature\"", typ)
		}
		return parseFeature(fr)
	}
	switch typ {
	case "Value":
		var dtype string
		if err := json.Unmarshal(m["dtype"], &dtype); err != nil {
			return nil, fmt.Errorf("Value dtype %s: %v", m["dtype"], err)
		}
		if _, ok := datasetsDtypes[dtype]; !ok {
			return nil, fmt.Errorf("Value dtype %q is not one datasets decodes", dtype)
		}
		return &hfFeature{kind: "Value", dtype: dtype}, nil
	case "ClassLabel":
		return &hfFeature{kind: "ClassLabel"}, nil
	case "List", "Sequence":
		e, err := elem()
		if err != nil {
			return nil, err
		}
		if typ == "Sequence" && e.kind == "dict" {
			// Sequence of a dict is a dict of lists (TFDS compatibility),
			// unless every sub-feature is already a List.
			allLists := true
			for _, k := range e.keys {
				allLists = allLists && e.fields[k].kind == "List"
			}
			if !allLists {
				out := &hfFeature{kind: "dict", keys: e.keys, fields: map[string]*hfFeature{}}
				for _, k := range e.keys {
					out.fields[k] = &hfFeature{kind: "List", length: length, elem: e.fields[k]}
				}
				return out, nil
			}
		}
		return &hfFeature{kind: "List", length: length, elem: e}, nil
	case "LargeList":
		e, err := elem()
		if err != nil {
			return nil, err
		}
		return &hfFeature{kind: "LargeList", elem: e}, nil
	}
	return nil, fmt.Errorf("feature type %q is not one kadapter checks (Value, ClassLabel, Sequence, List, LargeList)", typ)
}

// arrowType mirrors datasets' get_nested_type, in typeString's notation.
func (f *hfFeature) arrowType() string {
	switch f.kind {
	case "Value":
		return datasetsDtypes[f.dtype]
	case "ClassLabel":
		return "int64"
	case "List":
		if f.length >= 0 {
			return fmt.Sprintf("fixed_size_list<item: %s>[%d]", f.elem.arrowType(), f.length)
		}
		return "list<item: " + f.elem.arrowType() + ">"
	case "LargeList":
		return "large_list<item: " + f.elem.arrowType() + ">"
	}
	var parts []string
	for _, k := range f.keys {
		parts = append(parts, k+": "+f.fields[k].arrowType())
	}
	return "struct<" + strings.Join(parts, ", ") + ">"
}

// String is the datasets 4 repr of the feature.
func (f *hfFeature) String() string {
	switch f.kind {
	case "Value":
		return fmt.Sprintf("Value(%q)", datasetsDtypes[f.dtype])
	case "ClassLabel":
		return "ClassLabel"
	case "List":
		if f.length >= 0 {
			return fmt.Sprintf("List(%s, length=%d)", f.elem, f.length)
		}
		return fmt.Sprintf("List(%s)", f.elem)
	case "LargeList":
		return fmt.Sprintf("LargeList(%s)", f.elem)
	}
	var parts []string
	for _, k := range f.keys {
		parts = append(parts, fmt.Sprintf("%q: %s", k, f.fields[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// featureFromArrow mirrors datasets' generate_from_arrow_type (what
// datasets uses for a column whose metadata feature does not match).
func featureFromArrow(t arrow.DataType) *hfFeature {
	switch t.ID() {
	case arrow.STRUCT:
		f := &hfFeature{kind: "dict", fields: map[string]*hfFeature{}}
		for _, sf := range t.(*arrow.StructType).Fields() {
			f.keys = append(f.keys, sf.Name)
			f.fields[sf.Name] = featureFromArrow(sf.Type)
		}
		return f
	case arrow.FIXED_SIZE_LIST:
		ft := t.(*arrow.FixedSizeListType)
		return &hfFeature{kind: "List", length: int(ft.Len()), elem: featureFromArrow(ft.Elem())}
	case arrow.LIST:
		return &hfFeature{kind: "List", length: -1, elem: featureFromArrow(t.(*arrow.ListType).Elem())}
	case arrow.LARGE_LIST:
		return &hfFeature{kind: "LargeList", elem: featureFromArrow(t.(*arrow.LargeListType).Elem())}
	}
	return &hfFeature{kind: "Value", dtype: typeString(t)}
}

// nullableTypeString is typeString with every child field nullable, as
// datasets builds its types (pa.list_, pa.struct).
func nullableTypeString(t arrow.DataType) string {
	s := typeString(t)
	return strings.ReplaceAll(s, " not null", "")
}

// checkHFMetadata checks the "huggingface" metadata of one file: the
// layout datasets' ArrowWriter writes ({"info": {"features": {...}},
// optional "fingerprint"}), one feature per column in column order, each a
// feature datasets decodes whose Arrow type is the column's, with the
// serialized forms every datasets version from 2.x to 4.x reads.
func checkHFMetadata(t *testing.T, name string, schema *arrow.Schema, raw string) {
	t.Helper()
	if raw == "" {
		t.Errorf("%s: no %q schema metadata", name, pipeline.HFMetadataKey)
		return
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil {
		t.Errorf("%s: huggingface metadata is not a JSON object: %v\n%s", name, err, raw)
		return
	}
	for k := range top {
		if k != "info" && k != "fingerprint" {
			t.Errorf("%s: huggingface metadata key %q (datasets writes info and fingerprint)", name, k)
		}
	}
	var info map[string]json.RawMessage
	if err := json.Unmarshal(top["info"], &info); err != nil {
		t.Errorf("%s: huggingface metadata \"info\": %v", name, err)
		return
	}
	keys, feats, err := orderedKeys(info["features"])
	if err != nil {
		t.Errorf("%s: info.features: %v", name, err)
		return
	}
	var cols []string
	for _, f := range schema.Fields() {
		cols = append(cols, f.Name)
	}
	if !reflect.DeepEqual(keys, cols) {
		t.Errorf("%s: features %v, columns %v", name, keys, cols)
	}
	for _, f := range schema.Fields() {
		rawFeat, ok := feats[f.Name]
		if !ok {
			continue
		}
		checkSerializedForms(t, name+": "+f.Name, rawFeat)
		feat, err := parseFeature(rawFeat)
		if err != nil {
			t.Errorf("%s: column %s: datasets cannot decode feature %s: %v", name, f.Name, rawFeat, err)
			continue
		}
		if got, want := nullableTypeString(f.Type), feat.arrowType(); got != want {
			t.Errorf("%s: column %s is %s, but its feature %s means %s in datasets", name, f.Name, got, rawFeat, want)
		}
		if got, want := feat.String(), featureFromArrow(f.Type).String(); got != want {
			t.Errorf("%s: column %s: metadata feature %s, datasets would infer %s from the Arrow type", name, f.Name, got, want)
		}
		if typeString(f.Type) != nullableTypeString(f.Type) {
			t.Errorf("%s: column %s has non-nullable children (%s); datasets' types have nullable ones", name, f.Name, typeString(f.Type))
		}
	}
}

// checkSerializedForms requires the serialized forms that every datasets
// version from 2.x to 4.x reads: "Value" and "Sequence" (4.x's "List" and
// "LargeList" are unknown to older versions), dicts and one-element lists.
func checkSerializedForms(t *testing.T, where string, raw json.RawMessage) {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			if typ, ok := v["_type"].(string); ok {
				if typ != "Value" && typ != "Sequence" && typ != "ClassLabel" {
					t.Errorf("%s: _type %q is not readable by every datasets version from 2.x to 4.x", where, typ)
				}
				if f, ok := v["feature"]; ok {
					walk(f)
				}
				return
			}
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}

// interopSchema covers every Arrow type kadapter writes (string, int64,
// list<string>, list<int64>, list<list<int64>>, nullable int64) and the
// others the sink's feature mapping handles.
func interopSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "opt", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "f16", Type: arrow.FixedWidthTypes.Float16},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "tokens", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "ids32", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{Name: "ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "grid", Type: arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Int64))},
		{Name: "scores", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "pair", Type: arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int64)},
		{Name: "span", Type: arrow.StructOf(
			arrow.Field{Name: "start", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true})},
		{Name: "spans", Type: arrow.ListOf(arrow.StructOf(
			arrow.Field{Name: "start", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "end", Type: arrow.PrimitiveTypes.Int64, Nullable: true}))},
	}, nil)
}

// interopRow returns row r of the test data as JSON cells, one per column
// of interopSchema: non-ASCII and empty strings, nulls, empty lists, int64
// beyond 2^53 and at both extremes, exactly representable floats.
func interopRow(r int) []string {
	texts := []string{`"Zaïdi (1965–) 東京 🙂"`, `""`, `null`, `"tab\tquote\"back\\slash"`}
	big := []string{"9223372036854775807", "-9223372036854775808", "9007199254740993", "-1", "0"}
	s := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	n := r % 5
	ids := "null"
	if r%7 != 3 {
		ids = s(make([]int64, n))
		if n > 0 {
			ids = fmt.Sprintf("[%d,%s,%d]", r, big[r%5], -r)
		}
	}
	grid := "[]"
	if n > 0 {
		grid = fmt.Sprintf("[[%d,%d],[],[%s]]", r, r+1, big[(r+1)%5])
	}
	flag := []string{"true", "false", "null"}[r%3]
	opt := "null"
	if r%4 != 0 {
		opt = big[r%5]
	}
	f64 := []string{"0.1", "-2.5e-300", "1e300", "null", "3"}[r%5]
	return []string{
		s(fmt.Sprintf("row-%05d", r)),
		texts[r%len(texts)],
		[]string{`"a2l0"`, "null", `""`}[r%3], // base64 "kit", null, empty
		flag,
		strconv.Itoa(r%256 - 128),
		strconv.Itoa(r*104729 - 1<<30),
		big[r%5],
		opt,
		strconv.Itoa(r % 65536),
		[]string{"0.5", "-2", "65504", "0.0999755859375"}[r%4],
		[]string{"0.5", "-1.25", "17179869184", "0.0078125"}[r%4],
		f64,
		s(append([]string{"<s>", "Ġ@", "naïve"}[:n%4], strings.Repeat("x", r%3))),
		fmt.Sprintf("[%d,%d]", r, -2147483648+r),
		ids,
		grid,
		fmt.Sprintf("[%d.5,-0.25]", r%100),
		fmt.Sprintf("[%d,%s]", r, big[(r+2)%5]),
		fmt.Sprintf(`{"start":%d,"label":%s}`, r, []string{`"P17"`, "null"}[r%2]),
		[]string{"[]", fmt.Sprintf(`[{"start":%d,"end":%d},{"start":null,"end":1}]`, r, r+2)}[r%2],
	}
}

// writeInteropSink writes rows [0, n) through ArrowSink: the first half
// with Builder/RowDone (cells appended by the typed builders), the rest as
// record batches given to WriteRecordBatch.
func writeInteropSink(t *testing.T, path string, n int, opts pipeline.ArrowOptions) []string {
	t.Helper()
	s, err := pipeline.NewArrowSink(path, interopSchema(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	b := s.Builder()
	half := n / 2
	for r := 0; r < half; r++ {
		for c, cell := range interopRow(r) {
			if err := b.Field(c).UnmarshalJSON([]byte("[" + cell + "]")); err != nil {
				t.Fatalf("row %d column %s %s: %v", r, s.Schema().Field(c).Name, cell, err)
			}
		}
		if err := s.RowDone(); err != nil {
			t.Fatal(err)
		}
	}
	for start := half; start < n; start += s.BatchRows() {
		var js bytes.Buffer
		js.WriteByte('[')
		for r := start; r < n && r < start+s.BatchRows(); r++ {
			if r > start {
				js.WriteByte(',')
			}
			js.WriteByte('{')
			for c, cell := range interopRow(r) {
				if c > 0 {
					js.WriteByte(',')
				}
				fmt.Fprintf(&js, "%q:%s", s.Schema().Field(c).Name, cell)
			}
			js.WriteByte('}')
		}
		js.WriteByte(']')
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, s.Schema(), &js, array.WithUseNumber())
		if err != nil {
			t.Fatalf("rows from %d: %v", start, err)
		}
		err = s.WriteRecordBatch(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	paths, err := s.Close()
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// TestArrowInteropSink writes every column type through ArrowSink (plain,
// zstd, rotated, zstd and rotated, empty) and reads the files back with
// apache-arrow (JavaScript): same schema, metadata and cells as the Go
// reader, the rows written, HF features datasets decodes to these types.
func TestArrowInteropSink(t *testing.T) {
	arrowJSDir(t)
	dir := t.TempDir()
	const rows = 600
	tests := []struct {
		name      string
		rows      int
		opts      pipeline.ArrowOptions
		wantFiles int
	}{
		{"plain", rows, pipeline.ArrowOptions{BatchRows: 64}, 1},
		{"zstd", rows, pipeline.ArrowOptions{BatchRows: 64, Zstd: true}, 1},
		{"rotated", rows, pipeline.ArrowOptions{BatchRows: 100, MaxFileBytes: 1}, 6},
		{"zstd-rotated", rows, pipeline.ArrowOptions{BatchRows: 100, MaxFileBytes: 1, Zstd: true}, 6},
		{"empty", 0, pipeline.ArrowOptions{Zstd: true}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths := writeInteropSink(t, filepath.Join(dir, tc.name, "train.arrow"), tc.rows, tc.opts)
			found, err := pipeline.ArrowFiles(filepath.Join(dir, tc.name, "train.arrow"))
			if err != nil || !reflect.DeepEqual(found, paths) || len(paths) != tc.wantFiles {
				t.Fatalf("files %v (found %v, %v), want %d", paths, found, err, tc.wantFiles)
			}
			res := checkArrowInterop(t, paths)
			if res.rows != tc.rows {
				t.Fatalf("%d rows read, wrote %d", res.rows, tc.rows)
			}
			if got := res.compressedBuffers > 0; tc.rows > 0 && got != tc.opts.Zstd {
				t.Errorf("JS reader inflated %d zstd buffers; Zstd option %v", res.compressedBuffers, tc.opts.Zstd)
			}
			// The written rows themselves, as read by the JS reader.
			schema := interopSchema()
			r := 0
			for _, d := range res.dumps {
				for _, row := range d.Rows {
					for c, cell := range interopRow(r) {
						f := schema.Field(c)
						dec := json.NewDecoder(strings.NewReader(cell))
						dec.UseNumber()
						var want any
						if err := dec.Decode(&want); err != nil {
							t.Fatal(err)
						}
						if f.Type.ID() == arrow.BINARY && want != nil {
							b, _ := json.Marshal(want)
							var raw []byte
							_ = json.Unmarshal(b, &raw)
							want = hex.EncodeToString(raw)
						}
						if got, want := normalize(row[f.Name], f.Type), normalize(want, f.Type); !reflect.DeepEqual(got, want) {
							t.Errorf("row %d column %s: JS reader %#v, written %#v", r, f.Name, got, want)
						}
					}
					r++
				}
			}
			if r != tc.rows {
				t.Fatalf("the JS reader dumped %d rows, wrote %d", r, tc.rows)
			}
			t.Logf("%d files, %d rows, %d zstd buffers, apache-arrow %s", res.files, res.rows, res.compressedBuffers, res.version)
		})
	}
}

// arrowFilesUnder lists the .arrow files under dir, sorted.
func arrowFilesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".arrow") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// TestArrowInteropKprep checks every .arrow file of kprep trex (on
// testdata/trex) and of kprep features (trex-rc from that train.arrow,
// find-head on testdata, cosmosqa with a null label) the same way.
func TestArrowInteropKprep(t *testing.T) {
	arrowJSDir(t)
	dir := t.TempDir()
	trexOut := filepath.Join(dir, "trex")
	td := filepath.Join(testshared.RepoRoot(), "testdata", "trex")
	if code, _, errs := runKprep(t, "trex", "--in", td, "--out", trexOut, "--min-per-relation", "1", "--quiet"); code != 0 {
		t.Fatalf("kprep trex: exit %d\n%s", code, errs)
	}
	files := arrowFilesUnder(t, trexOut)
	if len(files) < 2 {
		t.Fatalf("kprep trex wrote %v", files)
	}
	res := checkArrowInterop(t, files)
	if res.rows != 10 {
		t.Errorf("kprep trex: %d rows in %v, want 10 (train 9 + dev 1)", res.rows, files)
	}
	t.Logf("kprep trex: %d files, %d rows, apache-arrow %s", res.files, res.rows, res.version)

	vocab := testshared.Path(t, "data", "roberta")
	cosmos := filepath.Join(dir, "cosmosqa.jsonl")
	var lines []string
	for i, label := range []string{`0`, `"2"`, `3`} { // --legacy-label: integer 0 -> null
		lines = append(lines, fmt.Sprintf(`{"id":"c%d","context":"Zaïdi was born in Bethoncourt, Doubs.","question":"Where was she born?","answer0":"Doubs","answer1":"Paris","answer2":"東京","answer3":"None of the above choices .","label":%s}`, i, label))
	}
	if err := os.WriteFile(cosmos, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	featOut := filepath.Join(dir, "features")
	for _, args := range [][]string{
		{"--task", "trex-rc", "--in", filepath.Join(trexOut, "train.arrow"), "--out", filepath.Join(featOut, "trex-rc.arrow")},
		{"--task", "find-head", "--in", filepath.Join(testshared.RepoRoot(), "testdata", "features", "find_head_sample.json"), "--out", filepath.Join(featOut, "find-head.arrow")},
		{"--task", "cosmosqa", "--in", cosmos, "--legacy-label", "--max-seq-length", "32", "--out", filepath.Join(featOut, "cosmosqa.arrow")},
	} {
		s := featuresJSON(t, append(args, "--vocab", vocab)...)
		if s.Kept == 0 {
			t.Fatalf("kprep features %v kept nothing: %+v", args, s)
		}
	}
	files = arrowFilesUnder(t, featOut)
	if len(files) != 3 {
		t.Fatalf("kprep features wrote %v", files)
	}
	res = checkArrowInterop(t, files)
	t.Logf("kprep features: %d files, %d rows, %d zstd buffers, apache-arrow %s", res.files, res.rows, res.compressedBuffers, res.version)
	if res.rows == 0 {
		t.Fatal("no feature rows")
	}
}
