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
	va_list ap;

	if (level > max_level)
		return;
	fprintf(stderr, "%s: %s", progname, prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
