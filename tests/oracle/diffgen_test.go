package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// gatewayAPIDir: $GATEWAY_API_DIR, else the module directory from go list.
func gatewayAPIDir(t *testing.T) string {
	if d := os.Getenv("GATEWAY_API_DIR"); d != "" {
		return d
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Skipf("cannot locate sigs.k8s.io/gateway-api (set GATEWAY_API_DIR): %v", err)
	}
	return strings.TrimSpace(string(out))
}

func generateOnce(t *testing.T, crds string, maxN int, seed uint64) ([]*dobj, string) {
	kinds, err := standardKinds(crds)
	if err != nil {
		t.Fatal(err)
	}
	o, err := loadOracle(crds)
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(o["standard"], kinds)
	if err := g.generate("../.."); err != nil {
		t.Fatal(err)
	}
	objs := g.finish(maxN, seed)
	return objs, corpusHash(objs)
}

// The corpus is the same from one run to the next (no map order, no clock).
func TestDifferentialDeterministic(t *testing.T) {
	crds := gatewayAPIDir(t)
	objs, h1 := generateOnce(t, crds, 0, 1)
	_, h2 := generateOnce(t, crds, 0, 1)
	if h1 != h2 {
		t.Fatalf("two runs, two corpora: %s != %s", h1, h2)
	}
	if len(objs) < 5000 {
		t.Fatalf("%d objects, want at least 5000", len(objs))
	}
	kinds, _ := standardKinds(crds)
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, o := range objs {
		seen[o.Kind+" "+o.APIVersion] = true
		if o.Class == "mutation" && strings.HasPrefix(o.Name, "d") {
			if names[o.Name] {
				t.Errorf("name %s used twice", o.Name)
			}
			names[o.Name] = true
		}
	}
	for _, k := range kinds {
		for _, v := range k.Versions {
			if !seen[k.Kind+" "+group+"/"+v] {
				t.Errorf("no object of %s %s/%s", k.Kind, group, v)
			}
		}
	}
	s1, hs1 := generateOnce(t, crds, 2000, 7)
	_, hs2 := generateOnce(t, crds, 2000, 7)
	_, hs3 := generateOnce(t, crds, 2000, 8)
	if len(s1) != 2000 || hs1 != hs2 {
		t.Fatalf("-max 2000 -seed 7: %d objects, hashes %s %s", len(s1), hs1, hs2)
	}
	if hs1 == hs3 {
		t.Fatalf("-seed 7 and -seed 8 sample the same corpus")
	}
	t.Logf("%d objects, corpus %s", len(objs), h1)
}
