/*
 * gwconform's result files: JUnit XML for CI (conformance/junit.c; spec
 * ecosystem.md §7), upstream's ConformanceReport YAML (conformance/report.c;
 * conformance.md §5) and the Sonobuoy "done" file (ecosystem.md §8.1).
 *
 * Each format has a pure renderer (structs in, text out, no I/O and no
 * clock) and a writer that adds the atomic write. Writers return 0, or -1
 * with a one-line message naming the path in err (NUL-terminated when
 * errlen > 0); on error no file is left at the path (an existing file is
 * left as it was) and no temporary file is left beside it.
 *
 * Files are written with mode 0644, not upstream's 0600: they are CI
 * artifacts, read by another user (the Sonobuoy worker, a hydrophone-style
 * sidecar, a CI uploader), and hold nothing secret.
 */
#ifndef GC_REPORT_H
#define GC_REPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "conform.h"
#include "util.h"

/* ---- JUnit XML (conformance/junit.c) ----------------------------------- */

/*
 * Append junit_01.xml's text to out. One <testsuite> per scenario profile
 * (scenarios without one: suite "gwconform"), in order of first appearance;
 * one <testcase> per case, named "<Scenario>/<case>", classname the profile
 * or "gwconform.<Scenario>"; one more named "<Scenario>" when the scenario
 * has no cases, or failed without a failing case (setup, apply, cleanup).
 * CONF_FAIL is <failure type="AssertionFailure">, CONF_ERROR <error>,
 * CONF_SKIP and CONF_NOT_SUPPORTED <skipped>; the message attribute is the
 * first line, the element text the message and the detail. A repeated
 * (classname, name) gets " #2", " #3". Times are seconds with three decimals
 * whatever the locale; timestamps are UTC without a zone designator (the
 * Ant/Jenkins pattern). All text is UTF-8-checked, stripped of ANSI escape
 * sequences and escaped by xml_escape(); characters XML 1.0 cannot carry
 * become U+FFFD.
 */
void conf_junit_render(const struct conf_run_info *info, const struct conf_scenario_result *s,
                       size_t n, struct sbuf *out);

int conf_write_junit(const char *path, const struct conf_run_info *info,
                     const struct conf_scenario_result *s, size_t n, char *err, size_t errlen);

/* ---- ConformanceReport YAML (conformance/report.c) -------------------- */

/*
 * Append the ConformanceReport (gateway.networking.k8s.io/v1) for these
 * results to out, as upstream's Report() tallies them and
 * sigs.k8s.io/yaml.Marshal prints them (keys sorted, go-yaml v2 quoting and
 * 80-column folding), except that profiles are sorted by name (upstream's
 * order is random). now is the report's date, printed in RFC 3339 with the
 * local offset. Tallying (conformance.md §5.2, gateway-api v1.6.1 profiles):
 * a scenario counts in every enabled profile (info->profiles) whose core and
 * extended features cover all of its features, as extended when any of
 * them is not core; a scenario without features counts where its profile
 * field says (extended from its extended field), or, without a profile
 * either, in every enabled profile (upstream's vacuous match). A profile the
 * table does not know takes scenarios by their profile field and its
 * feature lists from info->all_extended_features_of_profiles. PASS counts
 * Passed, FAIL and ERROR Failed, SKIP Skipped; NOT_SUPPORTED is not counted
 * but still makes the profile appear. Test lists are sorted; a provisional
 * PASS is also in succeededProvisionalTests. A name seen twice keeps its
 * last result.
 */
void conf_report_render(const struct conf_run_info *info, const struct conf_scenario_result *s,
                        size_t n, time_t now, struct sbuf *out);

/* conf_report_render() with the current time, written atomically to path. */
int conf_write_report(const char *path, const struct conf_run_info *info,
                      const struct conf_scenario_result *s, size_t n, char *err, size_t errlen);

/* Go's time.Now().Format(time.RFC3339) for t: "2006-01-02T15:04:05+02:00",
   "Z" for a zero offset. buf needs 26 bytes. */
void conf_report_date(time_t t, char *buf, size_t len);

/* ---- Sonobuoy (conformance/report.c) ----------------------------------- */

/*
 * Hand results to the Sonobuoy worker: files (already written) are names
 * in results_dir, or paths whose directory is results_dir (the worker shares
 * only that directory). One file: the done file holds its absolute path. More:
 * they are packed into results_dir/gwconform-results.tar.gz (at the top of
 * the archive, so the aggregator extracts them into results/global/) and
 * the done file holds that path. results_dir/done is written last,
 * atomically, without a trailing newline (the worker opens its content
 * verbatim). Fails when a path has a '.' before its file name: the worker
 * takes the extension from the first '.' of the whole path.
 */
int conf_write_sonobuoy_done(const char *results_dir, const char *const *files, size_t nfiles,
                             char *err, size_t errlen);

/* ---- shared by the writers -------------------------------------------- */

/*
 * Write len bytes to path atomically: a temporary file beside it (same
 * directory), fsync, chmod to mode (exactly; no umask), rename over path,
 * fsync of the directory. Returns 0 or -1 as above.
 */
int conf_report_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err,
                             size_t errlen);

/* Length of the valid UTF-8 sequence at s (Go's utf8 rules: no overlongs,
   no surrogates, nothing above U+10FFFF), or 0 (also for the NUL). */
size_t conf_report_utf8_valid(const char *s);

/*
 * The conformance profiles of gateway-api v1.6.1 (spec conformance.md §1.3),
 * the one table gwconform uses: appends the core and extended features of
 * 'name' (either list may be NULL) and returns 1, or 0 for an unknown name.
 */
int conf_profile_features(const char *name, struct conf_strlist *core,
                          struct conf_strlist *extended);
/* The i-th profile name (sorted), NULL past the end. */
const char *conf_profile_name(size_t i);

#endif
