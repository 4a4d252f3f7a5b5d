/* The one XML escaper (JUnit reports). */
#ifndef GC_XML_H
#define GC_XML_H

#include <stdio.h>

#include "util.h"

/*
 * Append s to sb escaped for XML 1.0 text and attributes: & < > " ' as
 * entities; control characters XML 1.0 cannot carry, and invalid UTF-8
 * bytes, as U+FFFD. Tab, LF and CR are kept.
 */
void xml_escape(struct sbuf *sb, const char *s);

#endif
