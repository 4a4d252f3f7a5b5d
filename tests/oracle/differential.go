package main

// `oracle differential` (issue 4): a deterministic corpus of Gateway API
// objects (the valid seeds of tests/data/, then single-field mutations driven
// by the v1.6.1 standard CRDs' schemas), each judged twice: (a) by
// `gwhook validate`, offline; (b) by a real kube-apiserver with our webhook
// unregistered, through a server-side dry-run create. It reports agreement on
// allow/deny and on the set of field paths. See docs/DIFFERENTIAL.md.
//
//	oracle differential -repo DIR -crds DIR -kubeconfig FILE [-out DIR] [-v] [-seed N] [-max N]
//	oracle differential -repo DIR -crds DIR -inprocess ...   (the in-process oracle as judge b)
//	oracle differential -repo DIR -crds DIR -generate-only   (corpus only)

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	gwconsts "sigs.k8s.io/gateway-api/pkg/consts"
)

type diffAllow struct {
	pattern *regexp.Regexp
	raw     string
	reason  string
	line    int
	used    int
}

// readDiffAllowlist reads PATTERN<TAB>reason lines. A pattern is matched
// against an object's "ORIGIN MUTATION" and its signature "KIND PATH: CLASS";
// '*' matches any run of characters.
func readDiffAllowlist(path string) ([]*diffAllow, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*diffAllow
	for n, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		pat, reason, ok := strings.Cut(l, "\t")
		reason = strings.TrimSpace(strings.TrimLeft(reason, "\t"))
		if !ok || reason == "" {
			return nil, fmt.Errorf("%s:%d: want PATTERN<TAB>reason", path, n+1)
		}
		parts := strings.Split(pat, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		out = append(out, &diffAllow{pattern: regexp.MustCompile("^" + strings.Join(parts, ".*") + "$"),
			raw: pat, reason: reason, line: n + 1})
	}
	return out, nil
}

func (o *dobj) id() string {
	if o.Mutation == "" {
		return o.Origin + " " + o.Class
	}
	return o.Origin + " " + o.Mutation
}

func matchAllow(list []*diffAllow, o *dobj) *diffAllow {
	for _, a := range list {
		if a.pattern.MatchString(o.id()) || a.pattern.MatchString(o.Sig) {
			a.used++
			return a
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameMultiset(a, b []string) bool {
	return len(minus(a, b)) == 0 && len(minus(b, a)) == 0
}

// outcome of one object
type outcome struct {
	o            *dobj
	ours, srv    judgement
	verdictAgree bool
	pathAgree    bool
	messageAgree bool
	allow        *diffAllow
}

func verdictWord(j judgement) string {
	switch {
	case j.Err != "":
		return "error"
	case j.Allowed:
		return "allow"
	}
	return "deny"
}

func pct(n, d int) float64 {
	if d == 0 {
		return 100
	}
	return float64(n) * 100 / float64(d)
}

// celMessages lists the message of every x-kubernetes-validations rule of
// the served standard versions (rules with a messageExpression count apart).
func celMessages(ch *channel) (msgs []string, exprOnly int) {
	seen := map[string]bool{}
	var walk func(s *structuralschema.Structural, depth int)
	walk = func(s *structuralschema.Structural, depth int) {
		if s == nil || depth > 64 {
			return
		}
		for _, r := range s.XValidations {
			switch {
			case r.Message != "":
				if !seen[r.Message] {
					seen[r.Message] = true
					msgs = append(msgs, r.Message)
				}
			case r.MessageExpression != "":
				exprOnly++
			default:
				m := "failed rule: " + r.Rule
				if !seen[m] {
					seen[m] = true
					msgs = append(msgs, m)
				}
			}
		}
		for _, k := range schemaKeys(s.Properties) {
			if depth == 0 && k == "status" {
				continue
			}
			p := s.Properties[k]
			walk(&p, depth+1)
		}
		walk(s.Items, depth+1)
		if s.AdditionalProperties != nil {
			walk(s.AdditionalProperties.Structural, depth+1)
		}
	}
	var gks []string
	for gk := range ch.served {
		gks = append(gks, gk)
	}
	sort.Strings(gks)
	for _, gk := range gks {
		var vs []string
		for v := range ch.served[gk] {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		for _, v := range vs {
			walk(ch.served[gk][v].structural, 0)
		}
	}
	sort.Strings(msgs)
	return msgs, exprOnly
}

func writeCorpus(dir string, objs []*dobj) error {
	cdir := filepath.Join(dir, "corpus")
	if err := os.RemoveAll(cdir); err != nil {
		return err
	}
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return err
	}
	idx, err := os.Create(filepath.Join(dir, "index.tsv"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(idx)
	fmt.Fprintf(w, "file\tkind\tapiVersion\tname\torigin\tclass\tmutation\n")
	for _, o := range objs {
		if err := os.WriteFile(filepath.Join(cdir, o.File), o.Data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.File, o.Kind, o.APIVersion, shorten(o.Name), o.Origin, o.Class, o.Mutation)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return idx.Close()
}

// corpusHash: the corpus as one hash (determinism check).
func corpusHash(objs []*dobj) string {
	h := sha256.New()
	for _, o := range objs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", o.File, o.Origin, o.Mutation, o.Sig)
		h.Write(o.Data)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func differentialMain(args []string) int {
	fs := flag.NewFlagSet("oracle differential", flag.ExitOnError)
	repo := fs.String("repo", ".", "the gatecheck checkout (with build/gwhook)")
	crds := fs.String("crds", os.Getenv("GATEWAY_API_DIR"), "the sigs.k8s.io/gateway-api module directory")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server to judge with (default REPO/build/cluster/kubeconfig)")
	outDir := fs.String("out", "", "report and corpus directory (default REPO/build/differential)")
	verbose := fs.Bool("v", false, "list every object, not only the disagreements")
	seed := fs.Uint64("seed", 1, "random seed (only used to sample the corpus with -max)")
	maxN := fs.Int("max", 0, "at most N objects (a deterministic sample); 0: all")
	jobs := fs.Int("j", 8, "requests in flight to the API server")
	allowPath := fs.String("allowlist", "", "explained differences (default REPO/tests/oracle/differential-allowlist.txt)")
	inprocess := fs.Bool("inprocess", false, "judge (b) with the in-process oracle instead of a cluster")
	generateOnly := fs.Bool("generate-only", false, "write the corpus and its hash, judge nothing")
	fs.Parse(args)

	setupErr := func(format string, a ...interface{}) int {
		fmt.Fprintf(os.Stderr, "differential: "+format+"\n", a...)
		return 2
	}
	if *crds == "" {
		return setupErr("-crds DIR (the gateway-api module directory) is required")
	}
	if *outDir == "" {
		*outDir = filepath.Join(*repo, "build", "differential")
	}
	if *kubeconfig == "" {
		*kubeconfig = filepath.Join(*repo, "build", "cluster", "kubeconfig")
	}
	if *allowPath == "" {
		*allowPath = filepath.Join(*repo, "tests", "oracle", "differential-allowlist.txt")
	}
	start := time.Now()

	kinds, err := standardKinds(*crds)
	if err != nil {
		return setupErr("%v", err)
	}
	o, err := loadOracle(*crds)
	if err != nil {
		return setupErr("%v", err)
	}
	allow, err := readDiffAllowlist(*allowPath)
	if err != nil {
		return setupErr("%v", err)
	}
	g := newGenerator(o["standard"], kinds)
	if err := g.generate(*repo); err != nil {
		return setupErr("generating the corpus: %v", err)
	}
	objs := g.finish(*maxN, *seed)
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return setupErr("%v", err)
	}
	if err := writeCorpus(*outDir, objs); err != nil {
		return setupErr("writing the corpus: %v", err)
	}
	hash := corpusHash(objs)
	tGen := time.Since(start)
	fmt.Fprintf(os.Stderr, "differential: %d objects generated (%d duplicates dropped) in %.1fs; corpus %s\n",
		len(objs), g.dups, tGen.Seconds(), hash[:16])
	if *generateOnly {
		fmt.Printf("differential: objects=%d corpus=%s\n", len(objs), hash)
		return 0
	}

	// (a) gatecheck, offline
	bin := filepath.Join(*repo, "build", "gwhook")
	if !fileExists(bin) {
		return setupErr("%s not found: run make first", bin)
	}
	t0 := time.Now()
	ours, err := judgeGwhook(bin, filepath.Join(*outDir, "corpus"), objs)
	if err != nil {
		return setupErr("%v", err)
	}
	tOurs := time.Since(t0)

	// (b) the API server
	t0 = time.Now()
	var srv []judgement
	judgeName := ""
	if *inprocess {
		judgeName = "in-process oracle (k8s.io/apiextensions-apiserver v0.37.2), NOT a real API server"
		srv = judgeInProcess(o, objs, runtime.NumCPU())
	} else {
		if !fileExists(*kubeconfig) {
			return setupErr("no kubeconfig at %s: start the control plane (make cluster-up) or pass -kubeconfig", *kubeconfig)
		}
		a, err := newAPIServer(*kubeconfig, kinds, *jobs)
		if err != nil {
			return setupErr("%s: %v", *kubeconfig, err)
		}
		ver, err := a.setup(gwconsts.BundleVersion)
		if err != nil {
			return setupErr("%v", err)
		}
		judgeName = fmt.Sprintf("kube-apiserver %s at %s, dry-run create, fieldValidation=Strict, %d in flight", ver, a.base, *jobs)
		srv = a.judge(objs, *jobs, os.Stderr)
	}
	tSrv := time.Since(t0)

	// compare
	outs := make([]*outcome, len(objs))
	for i, ob := range objs {
		oc := &outcome{o: ob, ours: ours[i], srv: srv[i]}
		if oc.ours.Err == "" && oc.srv.Err == "" {
			oc.verdictAgree = oc.ours.Allowed == oc.srv.Allowed
			oc.pathAgree = sameSet(oc.ours.Paths, oc.srv.Paths)
			oc.messageAgree = sameMultiset(oc.ours.Messages, oc.srv.Messages)
			if oc.srv.Code == 404 && len(oc.ours.Messages) == 1 && strings.HasPrefix(oc.ours.Messages[0], "apiVersion: Unsupported value") {
				oc.messageAgree = true
			}
		}
		if !oc.verdictAgree || !oc.pathAgree {
			oc.allow = matchAllow(allow, ob)
		}
		outs[i] = oc
	}
	rep, err := os.Create(filepath.Join(*outDir, "report.txt"))
	if err != nil {
		return setupErr("%v", err)
	}
	full := bufio.NewWriter(rep)
	console := bufio.NewWriter(os.Stdout)
	both := io.MultiWriter(full, console)
	exit := writeDiffReport(both, full, console, outs, allow, *verbose, diffReportInfo{
		crds: *crds, judge: judgeName, hash: hash, dups: g.dups, gen: tGen, ours: tOurs, srv: tSrv,
		total: time.Since(start), out: *outDir, ch: o["standard"], allowPath: *allowPath,
	})
	full.Flush()
	console.Flush()
	rep.Close()

	// every object, both answers
	if f, err := os.Create(filepath.Join(*outDir, "results.jsonl")); err == nil {
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, oc := range outs {
			enc.Encode(map[string]interface{}{"object": oc.o, "gatecheck": oc.ours, "apiserver": oc.srv,
				"verdict_agree": oc.verdictAgree, "path_agree": oc.pathAgree, "message_agree": oc.messageAgree})
		}
		w.Flush()
		f.Close()
	}
	return exit
}

type diffReportInfo struct {
	crds, judge, hash, out, allowPath string
	dups                              int
	gen, ours, srv, total             time.Duration
	ch                                *channel
}

func quoteLines(w io.Writer, label string, l []string) {
	if len(l) == 0 {
		fmt.Fprintf(w, "    %s (none)\n", label)
		return
	}
	for i, s := range l {
		if i == 0 {
			fmt.Fprintf(w, "    %s %s\n", label, s)
		} else {
			fmt.Fprintf(w, "    %s %s\n", strings.Repeat(" ", len(label)), s)
		}
	}
}

func writeDisagreement(w io.Writer, oc *outcome) {
	o := oc.o
	what := "paths differ"
	if !oc.verdictAgree {
		what = fmt.Sprintf("verdict: gatecheck %s, API server %s", verdictWord(oc.ours), verdictWord(oc.srv))
	}
	fmt.Fprintf(w, "not ok %s %s %s %q: %s\n", o.File, o.Kind, o.APIVersion, shorten(o.Name), what)
	fmt.Fprintf(w, "    origin:   %s (%s)\n", o.Origin, o.Class)
	if o.Mutation != "" {
		fmt.Fprintf(w, "    mutation: %s\n", o.Mutation)
	}
	fmt.Fprintf(w, "    group:    %s\n", o.Sig)
	if oc.allow != nil {
		fmt.Fprintf(w, "    explained (allowlist line %d): %s\n", oc.allow.line, oc.allow.reason)
	}
	if oc.ours.Err != "" {
		fmt.Fprintf(w, "    gatecheck error: %s\n", oc.ours.Err)
	}
	if oc.srv.Err != "" {
		fmt.Fprintf(w, "    API server error: %s\n", oc.srv.Err)
	}
	fmt.Fprintf(w, "    gatecheck paths:  [%s]\n", strings.Join(oc.ours.Paths, ", "))
	fmt.Fprintf(w, "    API server paths: [%s] (HTTP %d)\n", strings.Join(oc.srv.Paths, ", "), oc.srv.Code)
	quoteLines(w, "gatecheck: ", oc.ours.Messages)
	quoteLines(w, "API server:", oc.srv.Messages)
}

// writeDiffReport prints the report: to both (console and report.txt) the
// disagreements and the figures; to full only, the message differences and
// the coverage tables. It returns the exit status.
func writeDiffReport(both, full, console io.Writer, outs []*outcome, allow []*diffAllow, verbose bool, info diffReportInfo) int {
	n := len(outs)
	var verdictOK, pathOK, msgOK, explainedVerdict, explainedPath, judgeErrs int
	type group struct {
		key   string
		count int
		first *outcome
	}
	groups := map[string]*group{}
	causes := map[string]*group{}
	var disagreements, msgOnly []*outcome
	for _, oc := range outs {
		if oc.verdictAgree {
			verdictOK++
		} else if oc.allow != nil {
			explainedVerdict++
		}
		if oc.pathAgree {
			pathOK++
		} else if oc.allow != nil {
			explainedPath++
		}
		if oc.messageAgree {
			msgOK++
		}
		if oc.ours.Err != "" || oc.srv.Err != "" {
			judgeErrs++
		}
		if !oc.verdictAgree || !oc.pathAgree {
			disagreements = append(disagreements, oc)
			kind := "paths"
			if !oc.verdictAgree {
				kind = fmt.Sprintf("gatecheck %s / server %s", verdictWord(oc.ours), verdictWord(oc.srv))
			}
			key := kind + " | " + oc.o.Sig
			if groups[key] == nil {
				groups[key] = &group{key: key, first: oc}
			}
			groups[key].count++
			class := oc.o.Sig
			if i := strings.LastIndex(class, ": "); i >= 0 {
				class = class[i+2:]
			}
			key = kind + " | " + class
			if causes[key] == nil {
				causes[key] = &group{key: key, first: oc}
			}
			causes[key].count++
		} else if !oc.messageAgree {
			msgOnly = append(msgOnly, oc)
		}
	}

	fmt.Fprintf(both, "# differential: gatecheck (build/gwhook validate --channel standard) vs the API server\n")
	fmt.Fprintf(both, "# CRDs: gateway-api %s standard (%s)\n", gwconsts.BundleVersion, info.crds)
	fmt.Fprintf(both, "# judge (b): %s\n", info.judge)
	fmt.Fprintf(both, "# corpus: %d objects (%d duplicates dropped), sha256 %s, in %s\n", n, info.dups, info.hash, filepath.Join(info.out, "corpus"))
	fmt.Fprintf(both, "# time: generate %.1fs, gatecheck %.1fs, API server %.1fs, total %.1fs\n",
		info.gen.Seconds(), info.ours.Seconds(), info.srv.Seconds(), info.total.Seconds())

	// coverage: objects per kind and version, per class
	per := map[string][3]int{}
	classes := map[string]int{}
	for _, oc := range outs {
		k := oc.o.Kind + " " + oc.o.APIVersion
		c := per[k]
		c[0]++
		if oc.srv.Allowed {
			c[1]++
		} else {
			c[2]++
		}
		per[k] = c
		classes[oc.o.Class]++
	}
	var keys []string
	for k := range per {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(both, "# objects per kind and version (API server allowed/denied):\n")
	for _, k := range keys {
		fmt.Fprintf(both, "#   %-60s %5d  (%d/%d)\n", k, per[k][0], per[k][1], per[k][2])
	}
	keys = keys[:0]
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(both, "# objects per origin:")
	for _, k := range keys {
		fmt.Fprintf(both, " %s=%d", k, classes[k])
	}
	fmt.Fprintln(both)

	// CEL rules the corpus makes the API server report
	msgs, exprOnly := celMessages(info.ch)
	var hit int
	var missed []string
	for _, m := range msgs {
		found := false
		for _, oc := range outs {
			for _, s := range oc.srv.Messages {
				if strings.Contains(s, m) {
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if found {
			hit++
		} else {
			missed = append(missed, m)
		}
	}
	fmt.Fprintf(both, "# CEL rules violated at least once (by message; served standard versions): %d of %d (+%d with a messageExpression, not counted)\n",
		hit, len(msgs), exprOnly)
	for _, m := range missed {
		fmt.Fprintf(full, "#   never violated: %s\n", m)
	}

	if verbose {
		for _, oc := range outs {
			if oc.verdictAgree && oc.pathAgree {
				fmt.Fprintf(console, "ok %s %s %s: %s [%s] %s\n", oc.o.File, oc.o.Kind, oc.o.Origin, verdictWord(oc.srv),
					strings.Join(oc.srv.Paths, ", "), oc.o.Mutation)
			}
		}
	}
	fmt.Fprintf(both, "\n# ---- disagreements (%d)\n", len(disagreements))
	for _, oc := range disagreements {
		writeDisagreement(both, oc)
	}
	if len(causes) > 0 {
		fmt.Fprintf(both, "\n# ---- disagreements by cause (verdict | mutation class)\n")
		var cl []*group
		for _, g := range causes {
			cl = append(cl, g)
		}
		sort.Slice(cl, func(i, j int) bool {
			if cl[i].count != cl[j].count {
				return cl[i].count > cl[j].count
			}
			return cl[i].key < cl[j].key
		})
		for _, g := range cl {
			ex := ""
			if g.first.allow != nil {
				ex = fmt.Sprintf("  [explained: allowlist line %d]", g.first.allow.line)
			}
			fmt.Fprintf(both, "#   %5d  %s  (e.g. %s)%s\n", g.count, g.key, g.first.o.File, ex)
		}
	}
	if len(groups) > 0 {
		fmt.Fprintf(both, "\n# ---- disagreements by group (verdict | kind, generic path, mutation)\n")
		var gl []*group
		for _, g := range groups {
			gl = append(gl, g)
		}
		sort.Slice(gl, func(i, j int) bool {
			if gl[i].count != gl[j].count {
				return gl[i].count > gl[j].count
			}
			return gl[i].key < gl[j].key
		})
		for _, g := range gl {
			ex := ""
			if g.first.allow != nil {
				ex = fmt.Sprintf("  [explained: allowlist line %d]", g.first.allow.line)
			}
			fmt.Fprintf(both, "#   %5d  %s  (e.g. %s)%s\n", g.count, g.key, g.first.o.File, ex)
		}
	}
	fmt.Fprintf(full, "\n# ---- same verdict and paths, different messages (%d)\n", len(msgOnly))
	for _, oc := range msgOnly {
		fmt.Fprintf(full, "~ %s %s %s: %s\n", oc.o.File, oc.o.Kind, oc.o.Origin, oc.o.Mutation)
		for _, s := range minus(oc.ours.Messages, oc.srv.Messages) {
			fmt.Fprintf(full, "    + only gatecheck:  %s\n", s)
		}
		for _, s := range minus(oc.srv.Messages, oc.ours.Messages) {
			fmt.Fprintf(full, "    - only API server: %s\n", s)
		}
	}
	for _, a := range allow {
		if a.used == 0 {
			fmt.Fprintf(both, "# allowlist line %d matches no disagreement (remove it?): %s\n", a.line, a.raw)
		}
	}

	vPct, pPct := pct(verdictOK, n), pct(pathOK, n)
	pAdj := pct(pathOK+explainedPath, n)
	fmt.Fprintf(both, "\n# verdict disagreements: %d (%d explained by %s)\n", n-verdictOK, explainedVerdict, info.allowPath)
	fmt.Fprintf(both, "# path disagreements: %d (%d explained); judge errors: %d\n", n-pathOK, explainedPath, judgeErrs)
	fmt.Fprintf(both, "# message agreement (same multiset of \"path: message\"): %.2f%% (%d differ with verdict and paths agreeing; see report.txt)\n",
		pct(msgOK, n), len(msgOnly))
	fmt.Fprintf(both, "# report: %s\n", filepath.Join(info.out, "report.txt"))
	fmt.Fprintf(both, "differential: objects=%d verdict_agreement=%.2f%% path_agreement=%.2f%%\n", n, vPct, pPct)

	if n-verdictOK-explainedVerdict > 0 || pAdj < 99 {
		return 1
	}
	return 0
}
