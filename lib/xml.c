/* XML escaping for reports. Pure. */
#include "xml.h"

#include <string.h>

static size_t utf8_seq(const unsigned char *p)
{
    size_t n, i;

    if (*p < 0x80)
        return 1;
    n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 2 && *p < 0xC2)
        return 0; /* overlong */
    for (i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void xml_escape(struct sbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t n;

        switch (*p) {
        case '&':
            sb_puts(sb, "&amp;");
            p++;
            continue;
        case '<':
            sb_puts(sb, "&lt;");
            p++;
            continue;
        case '>':
            sb_puts(sb, "&gt;");
            p++;
            continue;
        case '"':
            sb_puts(sb, "&quot;");
            p++;
            continue;
        case '\'':
            sb_puts(sb, "&apos;");
            p++;
            continue;
        default:
            break;
        }
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
            sb_puts(sb, "\xEF\xBF\xBD"); /* U+FFFD: not representable in XML 1.0 */
            p++;
            continue;
        }
        n = utf8_seq(p);
        if (!n) {
            sb_puts(sb, "\xEF\xBF\xBD");
            p++;
            continue;
        }
        sb_add(sb, (const char *)p, n);
        p += n;
    }
}
