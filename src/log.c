/* log.c - messages for people, written to stderr as "ferry: message". */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level max_level = LOG_LEVEL_INFO;
static const char *progname = "ferry";

void log_set_level(enum log_level level)
{
	max_level = level;
}

void log_set_progname(const char *name)
{
	progname = name;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_LEVEL_ERROR] = "",
		[LOG_LEVEL_WARN] = "warning: ",
		[LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_DEBUG] = "debug: ",
	};
	char line[1024];
	va_list ap;
	int n;

	if (level > max_level)
		return;
	/* One write per line, so that the lines of processes sharing stderr
	 * (ferry overlay and its data plane) do not interleave. */
	n = snprintf(line, sizeof(line), "%s: %s", progname, prefix[level]);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
