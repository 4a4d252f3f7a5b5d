// Command reportcheck reads a ConformanceReport YAML written by gwconform
// and decodes it with upstream's own type (sigs.k8s.io/gateway-api/conformance
// apis/v1, tag conformance/v1.6.1) through sigs.k8s.io/yaml's strict
// unmarshal: unknown or duplicate fields fail. It then checks that
//
//   - upstream's marshaller (sigs.k8s.io/yaml.Marshal, as conformance.go's
//     writeReport uses it) writes the decoded report back byte for byte
//     (key order, quoting, line wrapping), unless -no-roundtrip;
//   - each profile's result, counts, test lists and summary agree with one
//     another as upstream's reports.go derives them, unless -no-consistency.
//
// It prints the decoded fields. Exit status: 0 valid, 1 invalid, 2 usage or
// I/O error. Used by tests/conformance/test_report.c via
// tools/check-report.sh; by hand: tools/check-report.sh FILE...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	noRoundtrip := flag.Bool("no-roundtrip", false, "do not require upstream's marshaller to reproduce the file")
	noConsistency := flag.Bool("no-consistency", false, "do not check results/counts/summaries against each other")
	quiet := flag.Bool("q", false, "print only problems")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: reportcheck [-q] [-no-roundtrip] [-no-consistency] REPORT.yaml...")
		os.Exit(2)
	}
	status := 0
	for _, path := range flag.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reportcheck: %v\n", err)
			os.Exit(2)
		}
		problems := check(path, data, !*noRoundtrip, !*noConsistency, *quiet)
		for _, p := range problems {
			fmt.Printf("%s: %s\n", path, p)
		}
		if len(problems) > 0 {
			status = 1
		}
	}
	os.Exit(status)
}

func check(path string, data []byte, roundtrip, consistency, quiet bool) []string {
	var r confv1.ConformanceReport
	if err := yaml.UnmarshalStrict(data, &r); err != nil {
		return []string{fmt.Sprintf("strict decode with confv1.ConformanceReport failed: %v", err)}
	}
	var problems []string
	if r.APIVersion != confv1.GroupVersion.String() {
		problems = append(problems, fmt.Sprintf("apiVersion %q, want %q", r.APIVersion, confv1.GroupVersion.String()))
	}
	if r.Kind != "ConformanceReport" {
		problems = append(problems, fmt.Sprintf("kind %q, want ConformanceReport", r.Kind))
	}
	if !quiet {
		printReport(path, &r)
	}
	if roundtrip {
		out, err := yaml.Marshal(r)
		if err != nil {
			problems = append(problems, fmt.Sprintf("re-marshal: %v", err))
		} else if !bytes.Equal(out, data) {
			problems = append(problems, "upstream's marshaller writes it differently: "+firstDiff(data, out))
		}
	}
	if consistency {
		problems = append(problems, consistent(&r)...)
	}
	return problems
}

func printReport(path string, r *confv1.ConformanceReport) {
	fmt.Printf("%s: decoded %s %s\n", path, r.APIVersion, r.Kind)
	fmt.Printf("  implementation: organization=%q project=%q url=%q version=%q contact=%q\n",
		r.Organization, r.Project, r.URL, r.Version, r.Contact)
	fmt.Printf("  date=%q gatewayAPIVersion=%q gatewayAPIChannel=%q mode=%q\n",
		r.Date, r.GatewayAPIVersion, r.GatewayAPIChannel, r.Mode)
	for _, p := range r.ProfileReports {
		fmt.Printf("  profile %s: core %s %+v skipped=%v failed=%v\n", p.Name, p.Core.Result,
			p.Core.Statistics, p.Core.SkippedTests, p.Core.FailedTests)
		if p.Extended != nil {
			fmt.Printf("    extended %s %+v skipped=%v failed=%v supported=%v unsupported=%v\n",
				p.Extended.Result, p.Extended.Statistics, p.Extended.SkippedTests,
				p.Extended.FailedTests, p.Extended.SupportedFeatures, p.Extended.UnsupportedFeatures)
		}
		fmt.Printf("    summary: %s\n", p.Summary)
	}
	fmt.Printf("  succeededProvisionalTests: %v\n", r.SucceededProvisionalTests)
}

// firstDiff names the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d: file has %q, upstream writes %q", i+1, gl, wl)
		}
	}
	return "same lines, different bytes"
}

// consistent restates reports.go's compileResults/buildSummary rules as
// checks: these are properties of any report upstream writes.
func consistent(r *confv1.ConformanceReport) []string {
	var problems []string
	names := make([]string, 0, len(r.ProfileReports))
	for _, p := range r.ProfileReports {
		names = append(names, p.Name)
		problems = append(problems, statusProblems(p.Name+".core", p.Core)...)
		want := "Core tests " + phrase(p.Core)
		if p.Extended != nil {
			problems = append(problems, statusProblems(p.Name+".extended", p.Extended.Status)...)
			want += ". Extended tests " + phrase(p.Extended.Status)
		}
		want += "."
		if p.Summary != want {
			problems = append(problems, fmt.Sprintf("%s.summary %q, want %q", p.Name, p.Summary, want))
		}
	}
	if !sort.StringsAreSorted(names) {
		problems = append(problems, fmt.Sprintf("profiles not sorted by name: %v", names))
	}
	if !sort.StringsAreSorted(r.SucceededProvisionalTests) {
		problems = append(problems, "succeededProvisionalTests not sorted")
	}
	return problems
}

func statusProblems(where string, s confv1.Status) []string {
	var problems []string
	want := confv1.Success
	switch {
	case s.Failed > 0:
		want = confv1.Failure
	case s.Skipped > 0:
		want = confv1.Partial
	}
	if s.Result != want {
		problems = append(problems, fmt.Sprintf("%s.result %q, want %q from its statistics", where, s.Result, want))
	}
	if int(s.Failed) != len(s.FailedTests) {
		problems = append(problems, fmt.Sprintf("%s: Failed %d but %d failedTests", where, s.Failed, len(s.FailedTests)))
	}
	if int(s.Skipped) != len(s.SkippedTests) {
		problems = append(problems, fmt.Sprintf("%s: Skipped %d but %d skippedTests", where, s.Skipped, len(s.SkippedTests)))
	}
	if !sort.StringsAreSorted(s.FailedTests) || !sort.StringsAreSorted(s.SkippedTests) {
		problems = append(problems, where+": test lists not sorted")
	}
	return problems
}

func phrase(s confv1.Status) string {
	switch s.Result {
	case confv1.Success:
		return "succeeded"
	case confv1.Partial:
		return fmt.Sprintf("partially succeeded with %d test skips", s.Skipped)
	case confv1.Failure:
		return fmt.Sprintf("failed with %d test failures", s.Failed)
	}
	return ""
}
