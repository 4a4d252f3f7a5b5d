package main

// The generator of `oracle differential` (issue 4): seeds from tests/data/,
// then single-field mutations driven by the CRDs' structural schemas.
//
// Everything here is deterministic: files and cases are read in sorted order,
// object properties are walked in sorted order, and no map iteration order
// reaches the output. -seed only matters when -max samples the corpus.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"sigs.k8s.io/yaml"
)

const diffNamespace = "differential"

// crdKind is what the differential needs to know of one standard CRD.
type crdKind struct {
	Kind       string
	Plural     string
	Namespaced bool
	Versions   []string // served versions, in the CRD's order
}

// standardKinds reads DIR/config/crd/standard: kind -> CRD facts.
func standardKinds(crds string) (map[string]*crdKind, error) {
	dir := filepath.Join(crds, "config", "crd", "standard")
	kinds := map[string]*crdKind{}
	err := forEachCRD(dir, func(_ string, crd *apiextensionsv1.CustomResourceDefinition) error {
		k := &crdKind{Kind: crd.Spec.Names.Kind, Plural: crd.Spec.Names.Plural,
			Namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped}
		for _, v := range crd.Spec.Versions {
			if v.Served {
				k.Versions = append(k.Versions, v.Name)
			}
		}
		kinds[k.Kind] = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kinds, nil
}

// dobj is one object of the differential corpus.
type dobj struct {
	ID         int    `json:"id"`
	File       string `json:"file"` // corpus file name
	Name       string `json:"name"` // metadata.name as sent ("" if none)
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Origin     string `json:"origin"`   // FILE:LINE of the seed
	Class      string `json:"class"`    // example, example-invalid, rule-accept, rule-reject, version, mutation
	Mutation   string `json:"mutation"` // what was changed; "" for a seed as it is
	Sig        string `json:"sig"`      // Kind, generic path and mutation class: the grouping key

	rename bool // metadata.name is ours to assign
	obj    map[string]interface{}
	Data   []byte `json:"-"`
}

type generator struct {
	ch     *channel
	kinds  map[string]*crdKind
	objs   []*dobj
	seen   map[string]bool // dedupe: canonical JSON
	added  map[string]bool // "add an optional field": once per kind, version and schema path
	metaOK map[string]bool // metadata mutations: once per kind and version
	re     map[string]*regexp.Regexp
	dups   int

	capCount map[string]int
}

// ---------------------------------------------------------------- JSON values

func decodeJSON(data []byte) (interface{}, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v interface{}
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// A path into an object: string keys and int indices.
type jpath []interface{}

func (p jpath) with(e interface{}) jpath {
	q := make(jpath, len(p), len(p)+1)
	copy(q, p)
	return append(q, e)
}

func (p jpath) String() string {
	var b strings.Builder
	for _, e := range p {
		switch t := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", t)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(t)
		}
	}
	if b.Len() == 0 {
		return "<root>"
	}
	return b.String()
}

// generic: indices as [], map keys (mapKey) as [*]
func (p jpath) generic() string {
	var b strings.Builder
	for _, e := range p {
		switch t := e.(type) {
		case int:
			b.WriteString("[]")
		case mapKey:
			b.WriteString("[*]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(t)
		}
	}
	return b.String()
}

// mapKey is a key of an additionalProperties map (labels, annotations...).
type mapKey string

func setAt(cur interface{}, p jpath, val interface{}, del bool) interface{} {
	if len(p) == 0 {
		return val
	}
	switch e := p[0].(type) {
	case string:
		m := cur.(map[string]interface{})
		if len(p) == 1 && del {
			delete(m, e)
		} else {
			m[e] = setAt(m[e], p[1:], val, del)
		}
	case mapKey:
		m := cur.(map[string]interface{})
		if len(p) == 1 && del {
			delete(m, string(e))
		} else {
			m[string(e)] = setAt(m[string(e)], p[1:], val, del)
		}
	case int:
		l := cur.([]interface{})
		l[e] = setAt(l[e], p[1:], val, del)
	}
	return cur
}

func sortedKeys(m map[string]interface{}) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func schemaKeys(m map[string]structuralschema.Structural) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func num(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

// ---------------------------------------------------------------- seeds

func newGenerator(ch *channel, kinds map[string]*crdKind) *generator {
	return &generator{ch: ch, kinds: kinds, seen: map[string]bool{}, added: map[string]bool{},
		metaOK: map[string]bool{}, re: map[string]*regexp.Regexp{}, capCount: map[string]int{}}
}

// normalize puts an object into the differential namespace (namespaced kinds)
// and reports whether its name may be replaced by a generated one.
func (g *generator) normalize(m map[string]interface{}, keepNamespace bool) (rename bool) {
	kind, _ := m["kind"].(string)
	md, ok := m["metadata"].(map[string]interface{})
	if !ok {
		return false
	}
	if k := g.kinds[kind]; k != nil {
		if k.Namespaced {
			md["namespace"] = diffNamespace
		} else if !keepNamespace {
			delete(md, "namespace")
		}
	} else if _, has := md["namespace"]; has {
		md["namespace"] = diffNamespace
	}
	name, _ := md["name"].(string)
	return simpleName.MatchString(name)
}

var simpleName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (g *generator) add(o *dobj) {
	if o.rename {
		o.obj["metadata"].(map[string]interface{})["name"] = "\x00NAME"
	}
	key, err := json.Marshal(o.obj)
	if err != nil {
		panic(err)
	}
	if g.seen[string(key)] {
		g.dups++
		return
	}
	g.seen[string(key)] = true
	o.Kind, _ = o.obj["kind"].(string)
	o.APIVersion, _ = o.obj["apiVersion"].(string)
	g.objs = append(g.objs, o)
}

// seedObj is a seed: its origin, class and object.
type seedObj struct {
	origin string
	class  string
	obj    map[string]interface{}
}

// seeds lists the examples (valid/standard and invalid/standard) and the
// standard-channel CREATE rule cases with the default rules (v1.6).
func diffSeeds(repo string) ([]seedObj, error) {
	var seeds []seedObj
	examples, err := exampleObjects(repo)
	if err != nil {
		return nil, err
	}
	for _, it := range examples {
		if it.channel != "standard" || it.skip != "" {
			continue
		}
		class := ""
		switch {
		case strings.HasPrefix(it.loc, "tests/data/examples/valid/standard/"):
			class = "example"
		case strings.HasPrefix(it.loc, "tests/data/examples/invalid/standard/"):
			class = "example-invalid"
		default:
			continue
		}
		v, err := decodeJSON(it.object)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", it.loc, err)
		}
		m, ok := v.(map[string]interface{})
		if !ok {
			continue
		}
		seeds = append(seeds, seedObj{it.loc, class, m})
	}
	rules, err := ruleCases(repo)
	if err != nil {
		return nil, err
	}
	for _, it := range rules {
		if it.channel != "standard" || it.operation != "CREATE" || it.skip != "" {
			continue
		}
		// the case's expectation, read again (ruleCases does not keep it)
		v, err := decodeJSON(it.object)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", it.loc, err)
		}
		m, ok := v.(map[string]interface{})
		if !ok {
			continue
		}
		seeds = append(seeds, seedObj{it.loc, "rule", m})
	}
	return seeds, nil
}

// ruleExpectations maps a rule case's FILE:LINE to its expect.allowed.
func ruleExpectations(repo string) (map[string]bool, error) {
	files, _ := filepath.Glob(filepath.Join(repo, "tests/data/rules/*.yaml"))
	sort.Strings(files)
	out := map[string]bool{}
	for _, f := range files {
		rel, _ := filepath.Rel(repo, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var lines []int
		for i, l := range strings.Split(string(data), "\n") {
			if caseStart.MatchString(l) {
				lines = append(lines, i+1)
			}
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, err
		}
		var cases []struct {
			Expect struct {
				Allowed bool `json:"allowed"`
			} `json:"expect"`
		}
		if err := json.Unmarshal(js, &cases); err != nil {
			return nil, err
		}
		for i, c := range cases {
			if i < len(lines) {
				out[fmt.Sprintf("%s:%d", rel, lines[i])] = c.Expect.Allowed
			}
		}
	}
	return out, nil
}

// generate builds the whole corpus.
func (g *generator) generate(repo string) error {
	seeds, err := diffSeeds(repo)
	if err != nil {
		return err
	}
	expect, err := ruleExpectations(repo)
	if err != nil {
		return err
	}
	type walkable struct {
		origin string
		obj    map[string]interface{}
	}
	var walk []walkable
	for _, s := range seeds {
		obj := deepCopy(s.obj).(map[string]interface{})
		class := s.class
		if class == "rule" {
			class = "rule-reject"
			if expect[s.origin] {
				class = "rule-accept"
			}
		}
		rename := g.normalize(obj, class == "rule-accept" || class == "rule-reject")
		g.add(&dobj{Origin: s.origin, Class: class, obj: obj, rename: rename,
			Sig: fmt.Sprintf("%v seed %s", obj["kind"], class)})
		if class != "example" && class != "rule-accept" {
			continue
		}
		walk = append(walk, walkable{s.origin, obj})
		if class != "example" {
			continue
		}
		// the same object in every other served version of its kind
		kind, _ := obj["kind"].(string)
		k := g.kinds[kind]
		if k == nil {
			continue
		}
		cur, _ := obj["apiVersion"].(string)
		for _, v := range k.Versions {
			av := group + "/" + v
			if av == cur {
				continue
			}
			o := deepCopy(obj).(map[string]interface{})
			o["apiVersion"] = av
			g.add(&dobj{Origin: s.origin, Class: "version", Mutation: "apiVersion: " + av, obj: o, rename: true,
				Sig: fmt.Sprintf("%s apiVersion: other served version", kind)})
			walk = append(walk, walkable{s.origin, o})
		}
	}
	for _, w := range walk {
		g.mutate(w.origin, w.obj)
	}
	return nil
}

// ---------------------------------------------------------------- mutations

type walker struct {
	g       *generator
	origin  string
	kind    string
	version string
}

// capped: mutation classes that rarely behave differently from one seed to
// the next; each is made at most perSigCap times per kind, version, schema
// path and detail.
var capped = map[string]bool{"wrong type": true, "null": true, "unknown field": true,
	"field name in another case": true, "non-ASCII character appended": true,
	"integer written with a fraction": true, "integer beyond int64": true, "integer beyond 2^53": true,
	"maxLength in 2-byte characters": true, "maxLength+1 in 2-byte characters": true,
	"maxLength in 3-byte characters": true}

// oncePerKind: mutations of the JSON text rather than of a field's value,
// made once per kind and version.
var oncePerKind = map[string]bool{"duplicate field in the JSON text": true, "NUL character appended": true}

// dupKeyPrefix marks a map key that finish writes as a second occurrence of
// the key after the prefix (encoding/json cannot write duplicate keys).
const dupKeyPrefix = "\x00dup:"

const perSigCap = 3

func (w *walker) emit(root map[string]interface{}, p jpath, val interface{}, del bool, class, detail string) {
	if oncePerKind[class] {
		key := w.kind + "/" + w.version + " " + class
		if w.g.capCount[key] >= 1 {
			return
		}
		w.g.capCount[key]++
	} else if capped[class] {
		key := w.kind + "/" + w.version + " " + p.generic() + ": " + class + " " + detail
		if w.g.capCount[key] >= perSigCap {
			return
		}
		w.g.capCount[key]++
	}
	o := deepCopy(root).(map[string]interface{})
	setAt(o, p, val, del)
	desc := p.String() + ": " + class
	if detail != "" {
		desc += " (" + detail + ")"
	}
	w.g.add(&dobj{Origin: w.origin, Class: "mutation", Mutation: desc, obj: o, rename: true,
		Sig: fmt.Sprintf("%s %s: %s", w.kind, p.generic(), class)})
}

// mutate walks one valid seed with its CRD schema.
func (g *generator) mutate(origin string, obj map[string]interface{}) {
	kind, _ := obj["kind"].(string)
	av, _ := obj["apiVersion"].(string)
	version := strings.TrimPrefix(av, group+"/")
	sv := g.ch.served[group+"/"+kind][version]
	if sv == nil || sv.structural == nil {
		return
	}
	w := &walker{g: g, origin: origin, kind: kind, version: version}
	w.metadata(obj)
	s := sv.structural
	for _, prop := range schemaKeys(s.Properties) {
		switch prop {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		ps := s.Properties[prop]
		if v, ok := obj[prop]; ok {
			w.node(obj, jpath{prop}, v, &ps)
		}
	}
}

// metadata: ObjectMeta mutations, once per kind and version.
func (w *walker) metadata(obj map[string]interface{}) {
	key := w.kind + "/" + w.version
	if w.g.metaOK[key] {
		return
	}
	w.g.metaOK[key] = true
	md, ok := obj["metadata"].(map[string]interface{})
	if !ok {
		return
	}
	named := func(mut func(md map[string]interface{}), desc, class string) {
		o := deepCopy(obj).(map[string]interface{})
		mut(o["metadata"].(map[string]interface{}))
		w.g.add(&dobj{Origin: w.origin, Class: "mutation", Mutation: desc, obj: o,
			Sig: fmt.Sprintf("%s metadata: %s", w.kind, class)})
	}
	long253 := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	names := []struct{ v, class string }{
		{long253, "name 253 chars"},
		{long253 + "e", "name 254 chars"},
		{strings.Repeat("n", 63), "name 63 chars"},
		{"Bad_Name", "name with bad characters"},
		{"-name", "name starting with -"},
		{"name.", "name ending with ."},
		{"UPPER", "upper-case name"},
		{"a..b", "name with an empty label"},
		{"a b", "name with a space"},
		{"a.b.example.com", "dotted name"},
	}
	for _, n := range names {
		v := n.v
		named(func(md map[string]interface{}) { md["name"] = v }, fmt.Sprintf("metadata.name: %s (%q)", n.class, shorten(v)), n.class)
	}
	named(func(md map[string]interface{}) { delete(md, "name"); delete(md, "generateName") },
		"metadata.name: removed, no generateName", "no name")
	named(func(md map[string]interface{}) { delete(md, "name"); md["generateName"] = "gen-" },
		"metadata: generateName only (\"gen-\")", "generateName")
	named(func(md map[string]interface{}) { delete(md, "name"); md["generateName"] = "Bad_" },
		"metadata: generateName only, bad characters (\"Bad_\")", "bad generateName")
	named(func(md map[string]interface{}) { delete(md, "name"); md["generateName"] = strings.Repeat("g", 300) },
		"metadata: generateName only, 300 characters", "long generateName")
	_ = md
	rn := func(mut func(md map[string]interface{}), desc, class string) {
		o := deepCopy(obj).(map[string]interface{})
		mut(o["metadata"].(map[string]interface{}))
		w.g.add(&dobj{Origin: w.origin, Class: "mutation", Mutation: desc, obj: o, rename: true,
			Sig: fmt.Sprintf("%s metadata: %s", w.kind, class)})
	}
	labels := []struct {
		k, v, class string
	}{
		{"app", "web", "valid label"},
		{"example.com/app", "web", "valid prefixed label"},
		{"bad key", "x", "label key with a space"},
		{"-bad", "x", "label key starting with -"},
		{"app", strings.Repeat("v", 63), "label value 63 chars"},
		{"app", strings.Repeat("v", 64), "label value 64 chars"},
		{"app", "bad value", "label value with a space"},
		{strings.Repeat("k", 64), "x", "label key name 64 chars"},
	}
	for _, l := range labels {
		k, v := l.k, l.v
		rn(func(md map[string]interface{}) { md["labels"] = map[string]interface{}{k: v} },
			fmt.Sprintf("metadata.labels: %s (%q: %q)", l.class, shorten(k), shorten(v)), l.class)
	}
	annotations := []struct{ k, class string }{
		{"example.com/note", "valid annotation"},
		{"bad key", "annotation key with a space"},
		{"example.com/" + strings.Repeat("k", 64), "annotation key name 64 chars"},
	}
	for _, a := range annotations {
		k := a.k
		rn(func(md map[string]interface{}) { md["annotations"] = map[string]interface{}{k: "v"} },
			fmt.Sprintf("metadata.annotations: %s (%q)", a.class, shorten(k)), a.class)
	}
	rn(func(md map[string]interface{}) { md["labels"] = "app=web" }, "metadata.labels: a string, not a map", "labels wrong type")
	rn(func(md map[string]interface{}) { md["finalizers"] = []interface{}{"example.com/f"} }, "metadata.finalizers: valid finalizer", "valid finalizer")
	rn(func(md map[string]interface{}) { md["finalizers"] = []interface{}{"bad finalizer"} }, "metadata.finalizers: bad finalizer", "bad finalizer")
	rn(func(md map[string]interface{}) { md["colour"] = "blue" }, "metadata.colour: unknown metadata field", "unknown metadata field")

	// the top level: spec missing, null or empty; unknown fields; a status
	// (dropped on create, after strict decoding has seen it)
	top := func(mut func(o map[string]interface{}), desc, class string) {
		o := deepCopy(obj).(map[string]interface{})
		mut(o)
		w.g.add(&dobj{Origin: w.origin, Class: "mutation", Mutation: desc, obj: o, rename: true,
			Sig: fmt.Sprintf("%s <root>: %s", w.kind, class)})
	}
	top(func(o map[string]interface{}) { delete(o, "spec") }, "spec: removed", "spec removed")
	top(func(o map[string]interface{}) { o["spec"] = nil }, "spec: null", "spec null")
	top(func(o map[string]interface{}) { o["spec"] = map[string]interface{}{} }, "spec: {}", "spec empty")
	top(func(o map[string]interface{}) { o["extra"] = "x" }, "extra: unknown top-level field", "unknown top-level field")
	top(func(o map[string]interface{}) { o["status"] = map[string]interface{}{} }, "status: {}", "empty status")
	top(func(o map[string]interface{}) { o["status"] = map[string]interface{}{"unknownField": "x"} },
		"status.unknownField: unknown field in status", "unknown field in status")
	top(func(o map[string]interface{}) { o["status"] = map[string]interface{}{"conditions": "not-a-list"} },
		"status.conditions: wrong type in status (dropped on create)", "wrong type in status")
	top(func(o map[string]interface{}) { o["status"] = "not-an-object" }, "status: a string", "status wrong type")
}

func shorten(s string) string {
	if len(s) > 24 {
		return fmt.Sprintf("%s...(%d chars)", s[:12], len(s))
	}
	return s
}

func (g *generator) regexp(p string) *regexp.Regexp {
	if r, ok := g.re[p]; ok {
		return r
	}
	r, err := regexp.Compile(p)
	if err != nil {
		r = nil
	}
	g.re[p] = r
	return r
}

func vv(s *structuralschema.Structural) *structuralschema.ValueValidation {
	if s.ValueValidation == nil {
		return &structuralschema.ValueValidation{}
	}
	return s.ValueValidation
}

// node produces the mutations of the value v at p (schema s), then recurses.
func (w *walker) node(root map[string]interface{}, p jpath, v interface{}, s *structuralschema.Structural) {
	if v == nil {
		return
	}
	val := vv(s)
	// wrong type, and null
	switch s.Type {
	case "object":
		w.emit(root, p, "not-an-object", false, "wrong type", "string for an object")
	case "array":
		w.emit(root, p, "not-a-list", false, "wrong type", "string for a list")
	case "string":
		w.emit(root, p, json.Number("42"), false, "wrong type", "integer for a string")
	case "integer":
		w.emit(root, p, "80", false, "wrong type", "string for an integer")
		w.emit(root, p, json.Number("1.5"), false, "wrong type", "fraction for an integer")
	case "boolean":
		w.emit(root, p, "yes", false, "wrong type", "string for a boolean")
	}
	w.emit(root, p, nil, false, "null", "")

	switch s.Type {
	case "object":
		m, ok := v.(map[string]interface{})
		if !ok {
			return
		}
		w.object(root, p, m, s, val)
	case "array":
		l, ok := v.([]interface{})
		if !ok {
			return
		}
		w.array(root, p, l, s, val)
	case "string":
		str, ok := v.(string)
		if !ok {
			return
		}
		w.str(root, p, str, s, val)
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return
		}
		w.integer(root, p, n, s, val)
	}
}

func (w *walker) object(root map[string]interface{}, p jpath, m map[string]interface{}, s *structuralschema.Structural, val *structuralschema.ValueValidation) {
	req := append([]string{}, val.Required...)
	sort.Strings(req)
	for _, r := range req {
		if _, ok := m[r]; ok {
			w.emit(root, p.with(r), nil, true, "required field removed", "")
		}
	}
	if len(s.Properties) > 0 && !s.XPreserveUnknownFields {
		w.emit(root, p.with("unknownField"), "x", false, "unknown field", "")
		// the first field present: its name in another case, and twice in the JSON text
		for _, k := range sortedKeys(m) {
			if _, known := s.Properties[k]; !known || k == "" {
				continue
			}
			mm := deepCopy(m).(map[string]interface{})
			x := mm[k]
			delete(mm, k)
			mm[strings.ToUpper(k[:1])+k[1:]] = x
			w.emit(root, p, mm, false, "field name in another case", k+" -> "+strings.ToUpper(k[:1])+k[1:])
			mm = deepCopy(m).(map[string]interface{})
			mm[dupKeyPrefix+k] = deepCopy(x)
			w.emit(root, p, mm, false, "duplicate field in the JSON text", k)
			break
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		as := s.AdditionalProperties.Structural
		keys := sortedKeys(m)
		if val.MaxProperties != nil {
			for _, n := range []int64{*val.MaxProperties, *val.MaxProperties + 1} {
				mm := map[string]interface{}{}
				for k, x := range m {
					mm[k] = deepCopy(x)
				}
				sample := "v"
				if len(keys) > 0 {
					sample, _ = m[keys[0]].(string)
				} else if sv, ok := w.g.synth(as, 0); ok {
					sample, _ = sv.(string)
				}
				for i := 0; int64(len(mm)) < n; i++ {
					mm[fmt.Sprintf("key%d.example.com/k", i)] = sample
				}
				class := "maxProperties"
				if n > *val.MaxProperties {
					class = "maxProperties+1"
				}
				w.emit(root, p, mm, false, class, fmt.Sprintf("%d entries", n))
			}
		}
		// keys: an invalid one (for maps whose keys CEL checks) and a long one
		w.emit(root, p.with(mapKey("bad key!")), "v", false, "map key with bad characters", "")
		w.emit(root, p.with(mapKey(strings.Repeat("k", 254))), "v", false, "map key 254 chars", "")
		if len(keys) > 0 {
			w.node(root, p.with(mapKey(keys[0])), m[keys[0]], as)
		}
	}
	for _, prop := range schemaKeys(s.Properties) {
		ps := s.Properties[prop]
		if x, ok := m[prop]; ok {
			w.node(root, p.with(prop), x, &ps)
			continue
		}
		// an absent field: add it with a minimal value (once per schema path),
		// then mutate it in place
		if len(p) == 0 && (prop == "status" || prop == "metadata") {
			continue
		}
		sig := w.kind + "/" + w.version + " " + p.with(prop).generic()
		if w.g.added[sig] {
			continue
		}
		w.g.added[sig] = true
		x, ok := w.g.synth(&ps, 0)
		if !ok {
			continue
		}
		o := deepCopy(root).(map[string]interface{})
		setAt(o, p.with(prop), x, false)
		w.emit(root, p.with(prop), x, false, "optional field added", "minimal value")
		w.node(o, p.with(prop), x, &ps)
	}
}

func (w *walker) array(root map[string]interface{}, p jpath, l []interface{}, s *structuralschema.Structural, val *structuralschema.ValueValidation) {
	is := s.Items
	if is == nil {
		return
	}
	listType := ""
	if s.XListType != nil {
		listType = *s.XListType
	}
	if val.MaxItems != nil && *val.MaxItems <= 2048 {
		max := int(*val.MaxItems)
		if max > len(l) {
			w.emit(root, p, w.g.fill(l, s, max), false, "maxItems", fmt.Sprintf("%d items", max))
		}
		w.emit(root, p, w.g.fill(l, s, max+1), false, "maxItems+1", fmt.Sprintf("%d items", max+1))
	}
	if val.MinItems != nil && *val.MinItems > 0 && len(l) >= int(*val.MinItems) {
		n := int(*val.MinItems) - 1
		w.emit(root, p, deepCopy(l[:n]), false, "minItems-1", fmt.Sprintf("%d items", n))
	}
	if len(l) == 0 {
		if x, ok := w.g.synth(is, 0); ok {
			w.emit(root, p, []interface{}{x}, false, "item added", "minimal value")
		}
		return
	}
	switch listType {
	case "map":
		w.emit(root, p, append(deepCopy(l).([]interface{}), deepCopy(l[0])), false, "duplicate list-map key", "a copy of item 0 appended")
		if len(l) >= 2 {
			// an item with the keys of item 0 and the rest of item 1
			if a, ok := l[0].(map[string]interface{}); ok {
				if b, ok := deepCopy(l[1]).(map[string]interface{}); ok {
					for _, k := range s.XListMapKeys {
						if x, has := a[k]; has {
							b[k] = deepCopy(x)
						} else {
							delete(b, k)
						}
					}
					w.emit(root, p, append(deepCopy(l).([]interface{}), b), false, "duplicate list-map key", "item 1 with item 0's keys appended")
				}
			}
		}
	case "set":
		w.emit(root, p, append(deepCopy(l).([]interface{}), deepCopy(l[0])), false, "duplicate set item", "a copy of item 0 appended")
	default:
		w.emit(root, p, append(deepCopy(l).([]interface{}), deepCopy(l[0])), false, "item duplicated", "a copy of item 0 appended")
	}
	w.node(root, p.with(0), l[0], is)
	if len(l) > 1 {
		w.node(root, p.with(len(l)-1), l[len(l)-1], is)
	}
}

func (w *walker) str(root map[string]interface{}, p jpath, v string, s *structuralschema.Structural, val *structuralschema.ValueValidation) {
	if len(val.Enum) > 0 {
		w.emit(root, p, "NotInEnum", false, "invalid enum value", "")
		for _, e := range val.Enum {
			if es, ok := e.Object.(string); ok && es != v {
				w.emit(root, p, es, false, "other enum value", strconv.Quote(es))
			}
		}
		return
	}
	re := (*regexp.Regexp)(nil)
	if val.Pattern != "" {
		re = w.g.regexp(val.Pattern)
	}
	if val.MaxLength != nil {
		max := int(*val.MaxLength)
		if x, ok := w.g.fitString(v, max, re); ok {
			w.emit(root, p, x, false, "maxLength", fmt.Sprintf("%d chars", max))
		}
		x, ok := w.g.fitString(v, max+1, re)
		detail := fmt.Sprintf("%d chars", max+1)
		if !ok {
			detail += ", pattern not kept"
		}
		w.emit(root, p, x, false, "maxLength+1", detail)
	}
	if val.MinLength != nil && *val.MinLength > 0 {
		n := int(*val.MinLength) - 1
		x, ok := w.g.fitString(v, n, re)
		detail := fmt.Sprintf("%d chars", n)
		if !ok && n > 0 {
			detail += ", pattern not kept"
		}
		w.emit(root, p, x, false, "minLength-1", detail)
	}
	if re != nil {
		lo, hi := 0, 1<<30
		if val.MinLength != nil {
			lo = int(*val.MinLength)
		}
		if val.MaxLength != nil {
			hi = int(*val.MaxLength)
		}
		for _, c := range patternViolators {
			if len(c) >= lo && len(c) <= hi && !re.MatchString(c) {
				w.emit(root, p, c, false, "pattern violated", strconv.Quote(c))
				break
			}
		}
		for _, c := range plausible {
			if c != v && len(c) >= lo && len(c) <= hi && re.MatchString(c) {
				w.emit(root, p, c, false, "other value matching the pattern", strconv.Quote(c))
				break
			}
		}
	}
	if val.Format != "" {
		w.emit(root, p, "not-a-"+val.Format, false, "format violated", val.Format)
	}
	// lengths count characters, not bytes; patterns see characters
	if val.MaxLength != nil && *val.MaxLength <= 65536 {
		max := int(*val.MaxLength)
		w.emit(root, p, strings.Repeat("é", max), false, "maxLength in 2-byte characters", fmt.Sprintf("%d chars, %d bytes", max, 2*max))
		w.emit(root, p, strings.Repeat("é", max+1), false, "maxLength+1 in 2-byte characters", fmt.Sprintf("%d chars", max+1))
		w.emit(root, p, strings.Repeat("€", max/2)+strings.Repeat("a", max-max/2), false, "maxLength in 3-byte characters", fmt.Sprintf("%d chars, %d bytes", max, max+2*(max/2)))
	}
	w.emit(root, p, v+"ü", false, "non-ASCII character appended", strconv.Quote(v+"ü"))
	if val.Pattern == "" {
		w.emit(root, p, v+"\x00x", false, "NUL character appended", "")
	}
}

var patternViolators = []string{"-bad-", "bad value!", "Bad/Value?", "/", "-", "*", " ", "a..b", "%zz", "\\", "\x7f"}

var plausible = []string{"a", "example.com", "foo", "/", "/foo", "a/b", "example.com/foo", "1", "A",
	"1s", "10ms", "https://example.com", "foo.example.com", "Foo-Bar", "v1", "*.example.com", "x-y", "foo=bar"}

func (w *walker) integer(root map[string]interface{}, p jpath, n json.Number, s *structuralschema.Structural, val *structuralschema.ValueValidation) {
	cur, err := n.Int64()
	if err != nil {
		return
	}
	if val.Minimum != nil {
		min := int64(*val.Minimum)
		if val.ExclusiveMinimum {
			min++
		}
		if min != cur {
			w.emit(root, p, num(min), false, "minimum", num(min).String())
		}
		w.emit(root, p, num(min-1), false, "minimum-1", num(min-1).String())
	}
	if val.Maximum != nil {
		max := int64(*val.Maximum)
		if val.ExclusiveMaximum {
			max--
		}
		if max != cur {
			w.emit(root, p, num(max), false, "maximum", num(max).String())
		}
		w.emit(root, p, num(max+1), false, "maximum+1", num(max+1).String())
	}
	w.emit(root, p, json.Number(n.String()+".0"), false, "integer written with a fraction", n.String()+".0")
	w.emit(root, p, json.Number("1e20"), false, "integer beyond int64", "1e20")
	w.emit(root, p, json.Number("9007199254740993"), false, "integer beyond 2^53", "9007199254740993")
	if val.Format == "int32" && val.Maximum == nil {
		w.emit(root, p, json.Number("2147483648"), false, "int32 overflow", "2147483648")
	}
	if len(val.Enum) > 0 {
		w.emit(root, p, num(cur+12345), false, "invalid enum value", "")
	}
}

// ---------------------------------------------------------------- values

// fitString: a string of length n that keeps matching re (nil: any), close
// to v when possible. ok is false when no candidate matched (the string
// returned then has the right length only).
func (g *generator) fitString(v string, n int, re *regexp.Regexp) (string, bool) {
	if n < 0 {
		n = 0
	}
	rep := strings.Repeat
	var cands []string
	if n >= len(v) {
		cands = append(cands, v+rep("a", n-len(v)), rep("a", n-len(v))+v)
		if i := strings.LastIndex(v, "."); i > 0 && n > len(v) {
			cands = append(cands, v[:i]+"."+rep("a", n-len(v)-1)+v[i:])
		}
	} else {
		cands = append(cands, v[:n])
	}
	if n >= 1 {
		cands = append(cands, rep("a", n), "/"+rep("a", n-1), rep("1", n), "A"+rep("a", n-1))
	}
	if n >= 2 {
		cands = append(cands, "a/"+rep("a", n-2), rep("a", n-1)+"1")
	}
	// dot-separated labels of at most 63 characters
	if n >= 1 {
		var b strings.Builder
		rem := n
		for rem > 0 {
			k := rem
			if k > 63 {
				k = 63
			}
			if rem-k == 1 {
				k--
			}
			b.WriteString(rep("a", k))
			rem -= k
			if rem > 0 {
				b.WriteByte('.')
				rem--
			}
		}
		cands = append(cands, b.String(), "*."+strings.TrimPrefix(b.String()[min(2, len(b.String())):], "."))
	}
	if n >= 13 {
		cands = append(cands, "example.com/"+rep("a", n-12), "https://"+rep("a", n-8))
	}
	for _, c := range cands {
		if len(c) == n && (re == nil || re.MatchString(c)) {
			return c, true
		}
	}
	return rep("a", n), re == nil
}

// uniqueString: a variant of v that is not in used and keeps matching re.
func (g *generator) uniqueString(v string, i int, re *regexp.Regexp, maxLen int, used map[string]bool) string {
	cands := []string{fmt.Sprintf("%s%d", v, i), fmt.Sprintf("x%d%s", i, v), fmt.Sprintf("x%d.%s", i, v),
		fmt.Sprintf("%s-%d", v, i), fmt.Sprintf("a%d", i), fmt.Sprintf("/a%d", i), fmt.Sprintf("x-%d", i)}
	for _, c := range cands {
		if !used[c] && (maxLen <= 0 || len(c) <= maxLen) && (re == nil || re.MatchString(c)) {
			used[c] = true
			return c
		}
	}
	return v
}

// fill makes a list of n items from l: copies of its items, made distinct
// where the list type asks for it (set items, list-map keys, a "name").
func (g *generator) fill(l []interface{}, s *structuralschema.Structural, n int) []interface{} {
	is := s.Items
	base := l
	if len(base) == 0 {
		x, ok := g.synth(is, 0)
		if !ok {
			x = map[string]interface{}{}
		}
		base = []interface{}{x}
	}
	listType := ""
	if s.XListType != nil {
		listType = *s.XListType
	}
	out := make([]interface{}, 0, n)
	for i := 0; i < n && i < len(l); i++ {
		out = append(out, deepCopy(l[i]))
	}
	used := map[string]bool{}
	for _, x := range out {
		if str, ok := x.(string); ok {
			used[str] = true
		}
	}
	usedKey := map[string]map[string]bool{}
	for i := len(out); i < n; i++ {
		x := deepCopy(base[i%len(base)])
		switch t := x.(type) {
		case string:
			if listType == "set" {
				x = g.uniqueString(t, i, g.patternOf(is), maxLenOf(is), used)
			}
		case json.Number:
			if listType == "set" {
				if c, err := t.Int64(); err == nil {
					x = num(c + int64(i))
				}
			}
		case map[string]interface{}:
			keys := s.XListMapKeys
			if listType != "map" {
				keys = []string{"name"}
			}
			for _, k := range keys {
				ks, ok := is.Properties[k]
				if !ok {
					continue
				}
				if usedKey[k] == nil {
					usedKey[k] = map[string]bool{}
					for _, y := range out {
						if ym, ok := y.(map[string]interface{}); ok {
							if ys, ok := ym[k].(string); ok {
								usedKey[k][ys] = true
							}
						}
					}
				}
				switch kv := t[k].(type) {
				case string:
					if ev := vv(&ks).Enum; len(ev) > 0 {
						if es, ok := ev[i%len(ev)].Object.(string); ok {
							t[k] = es
						}
						continue
					}
					t[k] = g.uniqueString(kv, i, g.patternOf(&ks), maxLenOf(&ks), usedKey[k])
				case json.Number:
					if c, err := kv.Int64(); err == nil {
						t[k] = num(c + int64(i))
					}
				}
			}
		}
		out = append(out, x)
	}
	return out
}

func (g *generator) patternOf(s *structuralschema.Structural) *regexp.Regexp {
	if s == nil || s.ValueValidation == nil || s.ValueValidation.Pattern == "" {
		return nil
	}
	return g.regexp(s.ValueValidation.Pattern)
}

func maxLenOf(s *structuralschema.Structural) int {
	if s == nil || s.ValueValidation == nil || s.ValueValidation.MaxLength == nil {
		return 0
	}
	return int(*s.ValueValidation.MaxLength)
}

// synth: a minimal value for schema s (required fields only).
func (g *generator) synth(s *structuralschema.Structural, depth int) (interface{}, bool) {
	if s == nil || depth > 16 {
		return nil, false
	}
	val := vv(s)
	if len(val.Enum) > 0 {
		return deepCopy(val.Enum[0].Object), true
	}
	if s.Default.Object != nil {
		// the default is a valid value by construction (it is validated
		// when the CRD is created); JSON numbers as json.Number
		js, _ := json.Marshal(s.Default.Object)
		if v, err := decodeJSON(js); err == nil {
			return v, true
		}
	}
	switch s.Type {
	case "object":
		m := map[string]interface{}{}
		req := append([]string{}, val.Required...)
		sort.Strings(req)
		for _, r := range req {
			ps, ok := s.Properties[r]
			if !ok {
				return nil, false
			}
			x, ok := g.synth(&ps, depth+1)
			if !ok {
				return nil, false
			}
			m[r] = x
		}
		return m, true
	case "array":
		n := 1
		if val.MinItems != nil && int(*val.MinItems) > n {
			n = int(*val.MinItems)
		}
		if val.MaxItems != nil && int(*val.MaxItems) < n {
			n = int(*val.MaxItems)
		}
		x, ok := g.synth(s.Items, depth+1)
		if !ok {
			return nil, false
		}
		return g.fill([]interface{}{x}, s, n), true
	case "string":
		lo, hi := 0, 1<<30
		if val.MinLength != nil {
			lo = int(*val.MinLength)
		}
		if val.MaxLength != nil {
			hi = int(*val.MaxLength)
		}
		re := g.patternOf(s)
		for _, c := range plausible {
			if len(c) >= lo && len(c) <= hi && (re == nil || re.MatchString(c)) {
				return c, true
			}
		}
		x, _ := g.fitString("", max(lo, 1), re)
		return x, true
	case "integer":
		lo, hi := int64(-1<<62), int64(1<<62)
		if val.Minimum != nil {
			lo = int64(*val.Minimum)
		}
		if val.Maximum != nil {
			hi = int64(*val.Maximum)
		}
		for _, c := range []int64{80, 1, lo, hi} {
			if c >= lo && c <= hi {
				return num(c), true
			}
		}
		return num(lo), true
	case "number":
		return json.Number("1"), true
	case "boolean":
		return true, true
	}
	if s.XIntOrString {
		return json.Number("1"), true
	}
	return nil, false
}

// ---------------------------------------------------------------- finishing

// finish samples (-max), assigns names and files, and encodes the objects.
func (g *generator) finish(maxN int, seed uint64) []*dobj {
	objs := g.objs
	if maxN > 0 && len(objs) > maxN {
		r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		idx := r.Perm(len(objs))[:maxN]
		sort.Ints(idx)
		picked := make([]*dobj, 0, maxN)
		for _, i := range idx {
			picked = append(picked, objs[i])
		}
		objs = picked
	}
	for i, o := range objs {
		o.ID = i + 1
		o.File = fmt.Sprintf("o%05d.json", o.ID)
		md, _ := o.obj["metadata"].(map[string]interface{})
		if o.rename && md != nil {
			md["name"] = fmt.Sprintf("d%05d-%s", o.ID, strings.ToLower(o.Kind))
		}
		if md != nil {
			o.Name, _ = md["name"].(string)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o.obj); err != nil {
			panic(err)
		}
		o.Data = bytes.ReplaceAll(b.Bytes(), []byte(`"\u0000dup:`), []byte(`"`))
	}
	return objs
}
