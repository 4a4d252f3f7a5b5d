// Command oracle is gatecheck's differential test against the real thing.
//
// It judges every object of gatecheck's test corpus (each case of
// tests/data/rules/*.yaml and each Gateway API document under
// tests/data/examples/) with the Kubernetes 1.37 API server's own code,
// k8s.io/apiextensions-apiserver v0.37.2 and k8s.io/apiserver v0.37.2, over the
// released sigs.k8s.io/gateway-api v1.6.1 CRDs, and compares the verdicts with
// gatecheck's C validator (build/gwhook validate, and the test_cases runner for
// UPDATE cases, which gwhook validate cannot take).
//
// What it mirrors, in order (customresource_handler.go and the generic
// registry, v0.37.2):
//
//   - serving a CRD: scheme defaults, structural schema with defaults pruned,
//     the OpenAPI schema validators and the real customresource.NewStrategy
//     (crdHandler.getOrCreateServingInfoFor);
//   - decoding a request body: strict JSON decoding, ObjectMeta decoding,
//     pruning of unknown fields (tracked: kubectl's default
//     fieldValidation=Strict answers them alone, as a 400), pruning of
//     non-nullable nulls without defaults, ObjectMeta coercion, then
//     structural defaulting (schemaCoercingDecoder + the versioning codec);
//   - CREATE: rest.BeforeCreate's metadata steps, strategy.PrepareForCreate,
//     then rest.ValidateCreate, i.e. customResourceStrategy.Validate
//     (strategy.go: ObjectMeta, schema, list types, CEL);
//   - UPDATE: the old object decoded as storage does, rest.BeforeUpdate's
//     steps, then rest.ValidateUpdate, i.e. customResourceStrategy.ValidateUpdate
//     with ratcheting (CRDValidationRatcheting is on by default).
//
// The CRDs are read from the gateway-api module in the Go module cache
// (config/crd/{standard,experimental}); they are never copied into the
// repository. The module is pinned by go.mod/go.sum; the CRDs' bundle-version
// annotation is checked against that module's consts.BundleVersion.
//
// The API server iterates Go maps, so the order of errors on sibling fields
// changes from request to request: each object with more than one error is
// validated K times and every distinct order is kept. Only the multiset of
// errors decides a verdict; order differences are informational.
//
// Usage (see README.md; `make oracle` runs it):
//
//	oracle -crds DIR [-repo .] [-k 100] [-allowlist FILE] [-v]
//	oracle serve -crds DIR    stdin: JSON lines {"channel","operation","object","old"}
//	oracle differential -crds DIR [-repo .] [-kubeconfig FILE] [-out DIR] [-v] [-seed N] [-max N]
//	                          (differential.go: generated corpus vs a real API server)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/crdserverscheme"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	gwconsts "sigs.k8s.io/gateway-api/pkg/consts"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const group = "gateway.networking.k8s.io"

// ================================================================ serving CRDs

type crStrategy interface {
	rest.RESTCreateStrategy
	rest.RESTUpdateStrategy
}

type servedVersion struct {
	kind       schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	strategy   crStrategy
}

// channel holds the CRDs of one channel, keyed by "group/Kind".
type channel struct {
	served   map[string]map[string]*servedVersion // version -> served version
	schemas  map[string]map[string]*structuralschema.Structural
	preserve map[string]bool
}

func loadChannel(dir string) (*channel, error) {
	scheme := kruntime.NewScheme()
	apiextensionsinstall.Install(scheme)
	ch := &channel{
		served:   map[string]map[string]*servedVersion{},
		schemas:  map[string]map[string]*structuralschema.Structural{},
		preserve: map[string]bool{},
	}
	err := forEachCRD(dir, func(f string, crd *apiextensionsv1.CustomResourceDefinition) error {
		if v := crd.Annotations[gwconsts.BundleVersionAnnotation]; v != gwconsts.BundleVersion {
			return fmt.Errorf("%s: bundle version %q, want %s (is -crds the module this binary was built with?)",
				f, v, gwconsts.BundleVersion)
		}
		scheme.Default(crd) // as the API server does when the CRD is created
		if err := ch.add(crd); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// forEachCRD calls fn for every CustomResourceDefinition in DIR/*.yaml, the
// files in sorted order, the documents in file order.
func forEachCRD(dir string, fn func(file string, crd *apiextensionsv1.CustomResourceDefinition) error) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s", dir)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, doc := range splitYAML(data) {
			js, err := yaml.YAMLToJSON(doc.data)
			if err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			var tm metav1.TypeMeta
			if json.Unmarshal(js, &tm) != nil || tm.Kind != "CustomResourceDefinition" {
				continue
			}
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := json.Unmarshal(js, crd); err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			if err := fn(f, crd); err != nil {
				return err
			}
		}
	}
	return nil
}

func internalValidation(crd *apiextensionsv1.CustomResourceDefinition, version string) (*apiextensionsinternal.CustomResourceValidation, error) {
	val, err := apihelpers.GetSchemaForVersion(crd, version)
	if err != nil || val == nil {
		return nil, err
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	err = apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil)
	return internal, err
}

// add mirrors crdHandler.getOrCreateServingInfoFor.
func (ch *channel) add(crd *apiextensionsv1.CustomResourceDefinition) error {
	gk := crd.Spec.Group + "/" + crd.Spec.Names.Kind
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	structurals := map[string]*structuralschema.Structural{}
	for _, v := range crd.Spec.Versions {
		iv, err := internalValidation(crd, v.Name)
		if err != nil {
			return err
		}
		if iv == nil {
			continue
		}
		s, err := structuralschema.NewStructural(iv.OpenAPIV3Schema)
		if !crd.Spec.PreserveUnknownFields {
			if err != nil {
				return fmt.Errorf("failed to convert schema to structural: %v", err)
			}
			s = s.DeepCopy()
			if err := structuraldefaulting.PruneDefaults(s); err != nil {
				return fmt.Errorf("failed to prune defaults: %v", err)
			}
		}
		structurals[v.Name] = s
	}
	ch.schemas[gk] = structurals
	ch.preserve[gk] = crd.Spec.PreserveUnknownFields

	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		kind := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		parameterScheme := kruntime.NewScheme()
		parameterScheme.AddUnversionedTypes(kind.GroupVersion(),
			&metav1.ListOptions{}, &metav1.GetOptions{}, &metav1.DeleteOptions{})
		typer := unstructuredObjectTyper{Delegate: parameterScheme, UnstructuredTyper: crdserverscheme.NewUnstructuredObjectTyper()}

		iv, err := internalValidation(crd, v.Name)
		if err != nil {
			return err
		}
		var props *apiextensionsinternal.JSONSchemaProps
		if iv != nil {
			props = iv.OpenAPIV3Schema
		}
		validator, _, err := apiservervalidation.NewSchemaValidator(props)
		if err != nil {
			return err
		}
		subresources, err := apihelpers.GetSubresourcesForVersion(crd, v.Name)
		if err != nil {
			return err
		}
		var statusSpec *apiextensionsinternal.CustomResourceSubresourceStatus
		var statusValidator apiservervalidation.SchemaValidator
		if subresources != nil && subresources.Status != nil {
			statusSpec = &apiextensionsinternal.CustomResourceSubresourceStatus{}
			if err := apiextensionsv1.Convert_v1_CustomResourceSubresourceStatus_To_apiextensions_CustomResourceSubresourceStatus(subresources.Status, statusSpec, nil); err != nil {
				return err
			}
			if props != nil {
				if statusSchema, ok := props.Properties["status"]; ok {
					if statusValidator, _, err = apiservervalidation.NewSchemaValidator(&statusSchema); err != nil {
						return err
					}
				}
			}
		}
		var scaleSpec *apiextensionsinternal.CustomResourceSubresourceScale
		if subresources != nil && subresources.Scale != nil {
			scaleSpec = &apiextensionsinternal.CustomResourceSubresourceScale{}
			if err := apiextensionsv1.Convert_v1_CustomResourceSubresourceScale_To_apiextensions_CustomResourceSubresourceScale(subresources.Scale, scaleSpec, nil); err != nil {
				return err
			}
		}
		strategy := customresource.NewStrategy(typer, namespaced, kind, validator, statusValidator,
			structurals[v.Name], statusSpec, scaleSpec, v.SelectableFields)
		if ch.served[gk] == nil {
			ch.served[gk] = map[string]*servedVersion{}
		}
		ch.served[gk][v.Name] = &servedVersion{kind: kind, namespaced: namespaced,
			structural: structurals[v.Name], strategy: strategy}
	}
	return nil
}

// unstructuredObjectTyper mirrors apiserver.UnstructuredObjectTyper.
type unstructuredObjectTyper struct {
	Delegate          kruntime.ObjectTyper
	UnstructuredTyper kruntime.ObjectTyper
}

func (t unstructuredObjectTyper) ObjectKinds(obj kruntime.Object) ([]schema.GroupVersionKind, bool, error) {
	if _, ok := obj.(kruntime.Unstructured); !ok {
		return t.Delegate.ObjectKinds(obj)
	}
	return t.UnstructuredTyper.ObjectKinds(obj)
}

func (t unstructuredObjectTyper) Recognizes(gvk schema.GroupVersionKind) bool {
	return t.Delegate.Recognizes(gvk) || t.UnstructuredTyper.Recognizes(gvk)
}

// ================================================================ decoding

// coerce mirrors unstructuredSchemaCoercer.apply.
func (ch *channel) coerce(u *unstructured.Unstructured, gk schema.GroupKind, dropInvalidMetadata, repairGeneration, trackUnknown bool) ([]string, error) {
	kind, foundKind, err := unstructured.NestedString(u.UnstructuredContent(), "kind")
	if err != nil {
		return nil, err
	}
	apiVersion, foundAPIVersion, err := unstructured.NestedString(u.UnstructuredContent(), "apiVersion")
	if err != nil {
		return nil, err
	}
	objectMeta, foundObjectMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u.Object, schemaobjectmeta.ObjectMetaOptions{
		DropMalformedFields:     dropInvalidMetadata,
		ReturnUnknownFieldPaths: trackUnknown,
	})
	if err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	key := gk.Group + "/" + gk.Kind
	if gv.Group == gk.Group && kind == gk.Kind {
		s := ch.schemas[key][gv.Version]
		if !ch.preserve[key] {
			opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: trackUnknown}
			unknown = append(unknown, structuralpruning.PruneWithOptions(u.Object, s, true, opts)...)
			structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, s)
		}
		ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, u.Object, s, false, schemaobjectmeta.CoerceOptions{
			DropInvalidFields:       dropInvalidMetadata,
			ReturnUnknownFieldPaths: trackUnknown,
		})
		if ferr != nil {
			return nil, ferr
		}
		unknown = append(unknown, paths...)
		if repairGeneration && objectMeta.Generation == 0 {
			objectMeta.Generation = 1
		}
	}
	if foundKind {
		u.SetKind(kind)
	}
	if foundAPIVersion {
		u.SetAPIVersion(apiVersion)
	}
	if foundObjectMeta {
		if err := schemaobjectmeta.SetObjectMeta(u.Object, objectMeta); err != nil {
			return nil, err
		}
	}
	return unknown, nil
}

// decode mirrors the strict JSON serializer, schemaCoercingDecoder and the
// versioning codec (which defaults after decoding). For a request body it
// returns the strict decoding errors (duplicate and unknown fields); for the
// stored old object (fromStorage) it drops malformed metadata and repairs the
// generation instead.
func (ch *channel) decode(data []byte, gk schema.GroupKind, sv *servedVersion, fromStorage bool) (*unstructured.Unstructured, []string, error) {
	m := map[string]interface{}{}
	strictErrs, err := kjson.UnmarshalStrict(data, &m)
	if err != nil {
		return nil, nil, err
	}
	var strict []string
	for _, e := range strictErrs {
		strict = append(strict, e.Error())
	}
	u := &unstructured.Unstructured{Object: m}
	unknown, err := ch.coerce(u, gk, fromStorage, fromStorage, !fromStorage)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range unknown {
		strict = append(strict, fmt.Sprintf("unknown field %q", p))
	}
	structuraldefaulting.Default(u.UnstructuredContent(), sv.structural)
	return u, strict, nil
}

// ================================================================ validation

type request struct {
	Channel   string          `json:"channel"`
	Operation string          `json:"operation"`
	Object    json.RawMessage `json:"object"`
	Old       json.RawMessage `json:"old,omitempty"`
}

// verdict is the API server's answer to one request.
type verdict struct {
	// ok: validated; notfound: kind or version not served (404);
	// bad_request: the body cannot be decoded (400, Message).
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Strict decoding errors: under kubectl's default fieldValidation=Strict
	// the request fails with these alone, before any validation.
	Unknown []string `json:"unknown"`
	// The field errors (fieldValidation=Ignore/Warn), in the first run's order.
	Errors []string `json:"errors"`
	// Every distinct order of Errors seen over K runs.
	Orders [][]string `json:"orders,omitempty"`
}

// answer is what kubectl (default --validate=strict) is told.
func (v *verdict) answer() []string {
	switch {
	case v.Status != "ok":
		return []string{v.Message}
	case len(v.Unknown) > 0:
		return v.Unknown
	}
	return v.Errors
}

type oracle map[string]*channel

func (o oracle) lookup(chName string, obj []byte) (*channel, *servedVersion, schema.GroupKind, string) {
	ch := o[chName]
	if ch == nil {
		return nil, nil, schema.GroupKind{}, "unknown channel " + chName
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(obj, &tm); err != nil {
		return nil, nil, schema.GroupKind{}, "bad TypeMeta: " + err.Error()
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, nil, schema.GroupKind{}, err.Error()
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: tm.Kind}
	sv := ch.served[gk.Group+"/"+gk.Kind][gv.Version]
	if sv == nil {
		return nil, nil, gk, fmt.Sprintf("%s %s is not served by the %s channel", tm.Kind, tm.APIVersion, chName)
	}
	return ch, sv, gk, ""
}

func (o oracle) validateOnce(req *request) verdict {
	res := verdict{Unknown: []string{}, Errors: []string{}}
	ch, sv, gk, msg := o.lookup(req.Channel, req.Object)
	if sv == nil {
		res.Status, res.Message = "notfound", msg
		return res
	}
	badRequest := func(err error) verdict {
		// createHandler/updateHandler: transformDecodeError -> 400
		res.Status = "bad_request"
		res.Message = fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", sv.kind.Kind, sv.kind.Version, sv.kind.Kind, err)
		return res
	}
	obj, strict, err := ch.decode(req.Object, gk, sv, false)
	if err != nil {
		return badRequest(err)
	}
	if strict != nil {
		res.Unknown = strict
	}

	// The request namespace, as kubectl sends it: namespaced objects without
	// a namespace go to "default", cluster-scoped ones to the cluster URL.
	ns := ""
	if sv.namespaced {
		if ns = obj.GetNamespace(); ns == "" {
			ns = "default"
		}
	}
	ctx := genericapirequest.WithNamespace(context.Background(), ns)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{IsResourceRequest: true,
		Verb: strings.ToLower(req.Operation), APIGroup: sv.kind.Group, APIVersion: sv.kind.Version, Namespace: ns})
	expectedNS := rest.ExpectedNamespaceForScope(ns, sv.namespaced)

	var errs field.ErrorList
	switch req.Operation {
	case "", "CREATE":
		// Store.Create + rest.BeforeCreate
		rest.FillObjectMetaSystemFields(obj)
		if obj.GetGenerateName() != "" && obj.GetName() == "" {
			// names.SimpleNameGenerator cuts the prefix to 58 bytes and appends 5
			// random characters; fixed here to the "xxxxx" gatecheck shows
			base := obj.GetGenerateName()
			if len(base) > 58 {
				base = base[:58]
			}
			obj.SetName(base + "xxxxx")
		}
		if err := rest.EnsureObjectNamespaceMatchesRequestNamespace(expectedNS, obj); err != nil {
			res.Status, res.Message = "bad_request", err.Error()
			return res
		}
		sv.strategy.PrepareForCreate(ctx, obj)
		errs = rest.ValidateCreate(ctx, obj, sv.strategy)
	case "UPDATE":
		if len(req.Old) == 0 || string(req.Old) == "null" {
			res.Status, res.Message = "bad_request", "UPDATE without an old object"
			return res
		}
		old, _, err := ch.decode(req.Old, gk, sv, true)
		if err != nil {
			res.Status, res.Message = "bad_request", "old object: "+err.Error()
			return res
		}
		// what storage holds for the old object
		old.SetUID(types.UID("6d3c3f7e-0000-4000-8000-000000000001"))
		old.SetCreationTimestamp(metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		old.SetResourceVersion("1")
		if !sv.namespaced {
			old.SetNamespace("")
		} else if old.GetNamespace() == "" {
			old.SetNamespace(ns)
		}
		if old.GetGeneration() == 0 {
			old.SetGeneration(1)
		}
		// kubectl replace/apply send the current resourceVersion: a PUT of
		// the whole new object (apply's 3-way merge is not modelled)
		if obj.GetResourceVersion() == "" {
			obj.SetResourceVersion("1")
		}
		// Store.Update + rest.BeforeUpdate
		if err := rest.EnsureObjectNamespaceMatchesRequestNamespace(expectedNS, obj); err != nil {
			res.Status, res.Message = "bad_request", err.Error()
			return res
		}
		obj.SetGeneration(old.GetGeneration())
		sv.strategy.PrepareForUpdate(ctx, obj, old)
		if len(obj.GetUID()) == 0 {
			obj.SetUID(old.GetUID())
		}
		obj.SetCreationTimestamp(old.GetCreationTimestamp())
		errs = rest.ValidateUpdate(ctx, obj, old, sv.strategy)
	default:
		res.Status, res.Message = "bad_request", "unknown operation "+req.Operation
		return res
	}
	res.Status = "ok"
	for _, e := range errs {
		res.Errors = append(res.Errors, e.Error())
	}
	return res
}

// validate runs validateOnce k times (once if there is at most one error)
// and keeps every distinct order of the errors.
func (o oracle) validate(req *request, k int) verdict {
	first := o.validateOnce(req)
	if first.Status != "ok" {
		return first
	}
	first.Orders = [][]string{first.Errors}
	if len(first.Errors) < 2 {
		return first
	}
	seen := map[string]bool{strings.Join(first.Errors, "\x00"): true}
	for i := 1; i < k; i++ {
		r := o.validateOnce(req)
		if key := strings.Join(r.Errors, "\x00"); !seen[key] {
			seen[key] = true
			first.Orders = append(first.Orders, r.Errors)
		}
	}
	return first
}

func loadOracle(crds string) (oracle, error) {
	o := oracle{}
	for _, name := range []string{"standard", "experimental"} {
		ch, err := loadChannel(filepath.Join(crds, "config", "crd", name))
		if err != nil {
			return nil, err
		}
		o[name] = ch
	}
	return o, nil
}

// ================================================================ the corpus

type yamlDoc struct {
	line int // first line of the document that is not blank, a comment or ---
	data []byte
}

var docSep = regexp.MustCompile(`^---(\s.*)?$`)

// splitYAML splits a YAML stream on "---" lines, as kubectl's YAMLReader does.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	var cur []string
	start := 0
	flush := func() {
		docs = append(docs, yamlDoc{start, []byte(strings.Join(cur, ""))})
		cur, start = nil, 0
	}
	for i, l := range strings.SplitAfter(string(data), "\n") {
		t := strings.TrimSpace(l)
		if docSep.MatchString(strings.TrimRight(l, "\r\n")) {
			flush()
			continue
		}
		if start == 0 && t != "" && !strings.HasPrefix(t, "#") {
			start = i + 1
		}
		cur = append(cur, l)
	}
	flush()
	return docs
}

// A corpus object, judged in one channel.
type item struct {
	loc       string // FILE:LINE, the allowlist key
	name      string
	channel   string
	operation string
	object    json.RawMessage
	old       json.RawMessage
	skip      string // why it is not compared
	// for examples: the file and the object's position among its Gateway API objects
	file  string
	index int
	kind  string
	obj   string

	oracle  verdict
	ours    []string
	oursErr string // gatecheck could not be run or its output not read
}

var caseStart = regexp.MustCompile(`^- `)

// ruleCases reads tests/data/rules/*.yaml (format: tests/data/README.md).
func ruleCases(repo string) ([]*item, error) {
	files, _ := filepath.Glob(filepath.Join(repo, "tests/data/rules/*.yaml"))
	sort.Strings(files)
	var items []*item
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
			return nil, fmt.Errorf("%s: %v", rel, err)
		}
		var cases []struct {
			Name       string          `json:"name"`
			Channel    string          `json:"channel"`
			Operation  string          `json:"operation"`
			APIVersion string          `json:"api_version"`
			Object     json.RawMessage `json:"object"`
			Old        json.RawMessage `json:"old"`
		}
		if err := json.Unmarshal(js, &cases); err != nil {
			return nil, fmt.Errorf("%s: %v", rel, err)
		}
		if len(lines) != len(cases) {
			return nil, fmt.Errorf("%s: %d cases but %d lines starting with '- '", rel, len(cases), len(lines))
		}
		for i, c := range cases {
			it := &item{loc: fmt.Sprintf("%s:%d", rel, lines[i]), name: c.Name, channel: c.Channel,
				operation: c.Operation, object: c.Object, old: c.Old}
			if it.channel == "" {
				it.channel = "standard"
			}
			if it.operation == "" {
				it.operation = "CREATE"
			}
			if c.APIVersion != "" && c.APIVersion != "v1.6" {
				it.skip = "api_version " + c.APIVersion + " (the oracle has the v1.6.1 CRDs only)"
			}
			items = append(items, it)
		}
	}
	return items, nil
}

// exampleObjects reads every Gateway API object under tests/data/examples/
// (YAML parsed as kubectl does, Lists expanded): standard examples are judged
// in both channels, those under an experimental/ directory in that one only.
func exampleObjects(repo string) ([]*item, error) {
	var files []string
	root := filepath.Join(repo, "tests/data/examples")
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(info.Name(), ".") && p != root {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var items []*item
	for _, f := range files {
		rel, _ := filepath.Rel(repo, f)
		channels := []string{"standard", "experimental"}
		if strings.Contains(rel, "/experimental/") {
			channels = []string{"experimental"}
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs := []yamlDoc{{1, data}}
		if filepath.Ext(f) != ".json" {
			docs = splitYAML(data)
		}
		index := 0
		for _, d := range docs {
			js, err := yaml.YAMLToJSON(d.data)
			if err != nil {
				items = append(items, &item{loc: fmt.Sprintf("%s:%d", rel, d.line), channel: channels[0],
					operation: "CREATE", skip: "not YAML kubectl can read: " + err.Error()})
				continue
			}
			var top struct {
				Kind  string            `json:"kind"`
				Items []json.RawMessage `json:"items"`
			}
			if json.Unmarshal(js, &top) != nil {
				continue // not an object
			}
			objs := []json.RawMessage{js}
			if strings.HasSuffix(top.Kind, "List") && top.Items != nil {
				objs = top.Items
			}
			for _, o := range objs {
				var m struct {
					APIVersion string `json:"apiVersion"`
					Kind       string `json:"kind"`
					Metadata   struct {
						Name string `json:"name"`
					} `json:"metadata"`
				}
				json.Unmarshal(o, &m)
				if gv, _ := schema.ParseGroupVersion(m.APIVersion); gv.Group != group {
					continue
				}
				for _, ch := range channels {
					items = append(items, &item{loc: fmt.Sprintf("%s:%d", rel, d.line), channel: ch,
						operation: "CREATE", object: o, file: rel, index: index, kind: m.Kind, obj: m.Metadata.Name})
				}
				index++
			}
		}
	}
	return items, nil
}

// ================================================================ gatecheck

type gwhookOutput struct {
	Results []struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"results"`
}

// gwhook runs `gwhook validate -o json` (never --strict: strict findings are
// gatecheck's own and the API server has none).
func gwhook(bin, path, channel string) (*gwhookOutput, error) {
	cmd := exec.Command(bin, "validate", "-q", "-o", "json", "--channel", channel, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil // some object invalid
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var g gwhookOutput
	if err := json.Unmarshal(out, &g); err != nil {
		return nil, fmt.Errorf("reading gwhook's JSON: %v", err)
	}
	return &g, nil
}

func messages(g *gwhookOutput, i int) []string {
	ms := []string{}
	for _, e := range g.Results[i].Errors {
		ms = append(ms, e.Message)
	}
	return ms
}

// runOurs fills it.ours for every compared item.
func runOurs(repo string, items []*item, jobs int) error {
	bin := filepath.Join(repo, "build/gwhook")
	tmp, err := os.MkdirTemp("", "gatecheck-oracle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Examples: one run per file and channel, objects matched by position.
	type fileRun struct {
		out *gwhookOutput
		err error
	}
	runs := map[string]*fileRun{}
	var updates []*item
	var perCase []*item
	for _, it := range items {
		switch {
		case it.skip != "":
		case it.operation == "UPDATE":
			updates = append(updates, it)
		case it.file != "":
			key := it.file + "\x00" + it.channel
			if runs[key] == nil {
				out, err := gwhook(bin, filepath.Join(repo, it.file), it.channel)
				runs[key] = &fileRun{out, err}
			}
			r := runs[key]
			switch {
			case r.err != nil:
				it.oursErr = r.err.Error()
			case it.index >= len(r.out.Results):
				it.oursErr = fmt.Sprintf("gwhook reported %d objects for this file", len(r.out.Results))
			case r.out.Results[it.index].Kind != it.kind || r.out.Results[it.index].Name != it.obj:
				it.oursErr = fmt.Sprintf("gwhook's object #%d is %s/%s, not %s/%s", it.index,
					r.out.Results[it.index].Kind, r.out.Results[it.index].Name, it.kind, it.obj)
			default:
				it.ours = messages(r.out, it.index)
			}
		default:
			perCase = append(perCase, it)
		}
	}

	// Rule cases (CREATE): each object from its own JSON file.
	forEach(perCase, jobs, func(i int, it *item) {
		path := filepath.Join(tmp, fmt.Sprintf("case%d.json", i))
		if err := os.WriteFile(path, it.object, 0o600); err != nil {
			it.oursErr = err.Error()
			return
		}
		out, err := gwhook(bin, path, it.channel)
		switch {
		case err != nil:
			it.oursErr = err.Error()
		case len(out.Results) != 1:
			it.oursErr = fmt.Sprintf("gwhook reported %d objects", len(out.Results))
		default:
			it.ours = messages(out, 0)
		}
	})

	if len(updates) > 0 {
		return runUpdates(repo, tmp, updates)
	}
	return nil
}

// runUpdates gets our error lists for UPDATE cases from the test_cases
// runner: each case is rewritten to expect a sentinel error, so that it fails
// and, with GC_SHOW_ERRORS set, the runner prints its whole list.
func runUpdates(repo, tmp string, updates []*item) error {
	const sentinel = "\x01oracle: show me the whole list"
	var cases []map[string]interface{}
	for _, it := range updates {
		cases = append(cases, map[string]interface{}{
			"name": it.loc, "channel": it.channel, "operation": "UPDATE",
			"object": it.object, "old": it.old,
			"expect": map[string]interface{}{"allowed": false, "errors": []string{sentinel}},
		})
	}
	data, err := json.Marshal(cases) // JSON is YAML
	if err != nil {
		return err
	}
	path := filepath.Join(tmp, "updates.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(repo, "build/san/tests/webhook/test_cases"), path)
	cmd.Env = append(os.Environ(), "GC_SHOW_ERRORS=1")
	out, _ := cmd.CombinedOutput() // every case fails on purpose
	// Per case: "#   ..." detail lines, then "not ok N - FILE:LINE: NAME".
	var errs []string
	done := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "#   error: "):
			errs = append(errs, strings.TrimPrefix(l, "#   error: "))
		case strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "not ok "):
			for _, it := range updates {
				if !done[it.loc] && strings.HasSuffix(l, ": "+it.loc) {
					it.ours = append([]string{}, errs...)
					done[it.loc] = true
					break
				}
			}
			errs = nil
		}
	}
	for _, it := range updates {
		if !done[it.loc] {
			it.oursErr = "no result from test_cases:\n" + string(out)
		}
	}
	return nil
}

func forEach(items []*item, jobs int, f func(int, *item)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i, items[i])
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
}

// ================================================================ comparison

func counts(l []string) map[string]int {
	m := map[string]int{}
	for _, s := range l {
		m[s]++
	}
	return m
}

// minus lists what a has more of than b.
func minus(a, b []string) []string {
	cb := counts(b)
	var out []string
	for _, s := range a {
		if cb[s] > 0 {
			cb[s]--
		} else {
			out = append(out, s)
		}
	}
	return out
}

// orderViolation finds a pair of errors that ours puts in the opposite order
// of every order the API server produced (ours has the same multiset).
func orderViolation(ours []string, orders [][]string) (string, string, bool) {
	for _, o := range orders {
		if strings.Join(o, "\x00") == strings.Join(ours, "\x00") {
			return "", "", false
		}
	}
	first := func(l []string) map[string]int {
		m := map[string]int{}
		for i := len(l) - 1; i >= 0; i-- {
			m[l[i]] = i
		}
		return m
	}
	fo := first(ours)
	var fs []map[string]int
	for _, o := range orders {
		fs = append(fs, first(o))
	}
	for _, a := range ours {
		for _, b := range ours {
			if a == b || fo[a] < fo[b] {
				continue
			}
			always := true // the server always puts a before b
			for _, f := range fs {
				if f[a] > f[b] {
					always = false
					break
				}
			}
			if always {
				return a, b, true
			}
		}
	}
	return "", "", false
}

func readAllowlist(path string) (map[string]string, error) {
	allow := map[string]string{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return allow, nil
	}
	if err != nil {
		return nil, err
	}
	for n, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		loc, reason, ok := strings.Cut(l, "\t")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want FILE:LINE<TAB>reason", path, n+1)
		}
		allow[loc] = reason
	}
	return allow, nil
}

func quoteList(w *bufio.Writer, prefix string, l []string) {
	if len(l) == 0 {
		fmt.Fprintf(w, "#   %s(none: accepted)\n", prefix)
	}
	for _, s := range l {
		fmt.Fprintf(w, "#   %s%s\n", prefix, s)
	}
}

// compare prints one line per item that does not plainly agree (every item
// with -v) and the summary; it returns the number of differences.
func compare(w *bufio.Writer, items []*item, allow map[string]string, verbose bool) int {
	var compared, agree, orderOnly, differ, skipped, allowed int
	used := map[string]bool{}
	for _, it := range items {
		what := fmt.Sprintf("%s %s %s", it.loc, it.channel, it.operation)
		if it.name != "" {
			what += " " + it.name
		}
		if it.skip != "" {
			skipped++
			if verbose {
				fmt.Fprintf(w, "ok - %s # SKIP %s\n", what, it.skip)
			}
			continue
		}
		compared++
		want := it.oracle.answer()
		if it.oursErr == "" && it.oracle.Status == "notfound" {
			// a 404 for the server; gatecheck names the bad apiVersion
			if len(it.ours) == 1 && strings.HasPrefix(it.ours[0], "apiVersion: Unsupported value") {
				want = it.ours
			}
		}
		extra, missing := minus(it.ours, want), minus(want, it.ours)
		switch {
		case it.oursErr == "" && len(extra) == 0 && len(missing) == 0:
			orders := it.oracle.Orders
			if len(it.oracle.Unknown) > 0 || it.oracle.Status != "ok" {
				orders = [][]string{want}
			}
			if a, b, bad := orderViolation(it.ours, orders); bad {
				orderOnly++
				fmt.Fprintf(w, "ok - %s # order only: the API server always puts\n#   %s\n#   before\n#   %s\n", what, a, b)
			} else {
				agree++
				if verbose {
					fmt.Fprintf(w, "ok - %s\n", what)
				}
			}
		case allow[it.loc] != "":
			allowed++
			used[it.loc] = true
			fmt.Fprintf(w, "ok - %s # allowlisted: %s\n", what, allow[it.loc])
		default:
			differ++
			fmt.Fprintf(w, "not ok - %s\n", what)
			if it.oursErr != "" {
				fmt.Fprintf(w, "#   gatecheck: %s\n", strings.ReplaceAll(it.oursErr, "\n", "\n#   "))
				continue
			}
			if it.oracle.Status != "ok" {
				fmt.Fprintf(w, "#   API server: %s (%s)\n", it.oracle.Status, it.oracle.Message)
			}
			quoteList(w, "API server: ", want)
			quoteList(w, "gatecheck:  ", it.ours)
			for _, s := range missing {
				fmt.Fprintf(w, "#   - only the API server: %s\n", s)
			}
			for _, s := range extra {
				fmt.Fprintf(w, "#   + only gatecheck:      %s\n", s)
			}
		}
	}
	var stale []string
	for loc := range allow {
		if !used[loc] {
			stale = append(stale, loc)
		}
	}
	sort.Strings(stale)
	for _, loc := range stale {
		fmt.Fprintf(w, "# allowlist entry no longer needed (remove it): %s\n", loc)
	}
	fmt.Fprintf(w, "oracle: allowlisted=%d\n", allowed)
	fmt.Fprintf(w, "oracle: compared=%d agree=%d order-only=%d differ=%d skipped=%d\n",
		compared, agree+allowed, orderOnly, differ, skipped)
	return differ
}

// ================================================================ main

func serve(o oracle, k int) {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		if len(bytes.TrimSpace(in.Bytes())) == 0 {
			continue
		}
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			enc.Encode(verdict{Status: "bad_request", Message: "request: " + err.Error()})
			continue
		}
		enc.Encode(o.validate(&req, k))
		out.Flush()
	}
}

func main() {
	mode := "compare"
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "differential" {
		os.Exit(differentialMain(args[1:])) // differential.go
	}
	if len(args) > 0 && args[0] == "serve" {
		mode, args = "serve", args[1:]
	}
	fs := flag.NewFlagSet("oracle", flag.ExitOnError)
	crds := fs.String("crds", os.Getenv("GATEWAY_API_DIR"), "the sigs.k8s.io/gateway-api module directory (go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)")
	repo := fs.String("repo", ".", "the gatecheck checkout (with build/gwhook and build/san/tests/webhook/test_cases)")
	k := fs.Int("k", 100, "runs per object with several errors, to see the API server's possible orders")
	allowlist := fs.String("allowlist", "", "known differences, FILE:LINE<TAB>reason (default REPO/tests/oracle/allowlist.txt)")
	verbose := fs.Bool("v", false, "list every object")
	jobs := fs.Int("j", runtime.NumCPU(), "parallel jobs")
	fs.Parse(args)
	if *crds == "" {
		fmt.Fprintln(os.Stderr, "oracle: -crds DIR (the gateway-api module directory) is required")
		os.Exit(2)
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(2)
	}
	o, err := loadOracle(*crds)
	if err != nil {
		fail(err)
	}
	if mode == "serve" {
		serve(o, *k)
		return
	}
	if *allowlist == "" {
		*allowlist = filepath.Join(*repo, "tests/oracle/allowlist.txt")
	}
	allow, err := readAllowlist(*allowlist)
	if err != nil {
		fail(err)
	}
	rules, err := ruleCases(*repo)
	if err != nil {
		fail(err)
	}
	examples, err := exampleObjects(*repo)
	if err != nil {
		fail(err)
	}
	items := append(rules, examples...)

	start := time.Now()
	forEach(items, *jobs, func(_ int, it *item) {
		if it.skip == "" {
			it.oracle = o.validate(&request{Channel: it.channel, Operation: it.operation, Object: it.object, Old: it.old}, *k)
		}
	})
	tOracle := time.Since(start)
	if err := runOurs(*repo, items, *jobs); err != nil {
		fail(err)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "# API server code: k8s.io/apiextensions-apiserver v0.37.2; CRDs: gateway-api %s (%s)\n", gwconsts.BundleVersion, *crds)
	fmt.Fprintf(w, "# %d objects (%d rule cases, %d example objects x channels); oracle %.1fs (k=%d), gatecheck %.1fs\n",
		len(items), len(rules), len(examples), tOracle.Seconds(), *k, (time.Since(start) - tOracle).Seconds())
	differ := compare(w, items, allow, *verbose)
	w.Flush()
	if differ > 0 {
		os.Exit(1)
	}
}
