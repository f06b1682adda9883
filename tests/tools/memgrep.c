/* memgrep - does a process's memory hold these bytes?
 *
 *   memgrep PID HEX...
 *
 * Reads every readable mapping of PID through /proc/PID/mem (root, or
 * ptrace access) and looks for each HEX string's bytes. Exit 0 when one
 * was found (and says where), 1 when none, 2 on an error. The tests use it
 * to show which process holds a private key: the daemon does (the control),
 * its resolver process must not. Mappings over 1 GiB are skipped: only a
 * sanitizer's shadow memory is that big. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NEEDLES 8
#define CHUNK	    (1 << 20)
#define MAX_MAPPING (1UL << 30)

struct needle {
	unsigned char b[256];
	size_t len;
};

static int from_hex(const char *s, struct needle *n)
{
	size_t len = strlen(s), i;

	if (len % 2 || len / 2 > sizeof(n->b) || len == 0)
		return -1;
	for (i = 0; i < len / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		n->b[i] = (unsigned char)v;
	}
	n->len = len / 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct needle needles[MAX_NEEDLES];
	char path[64], line[512];
	unsigned char *buf;
	int n = argc - 2, i, fd, found = 0;
	FILE *maps;

	if (argc < 3 || n > MAX_NEEDLES) {
		fprintf(stderr, "usage: memgrep PID HEX...\n");
		return 2;
	}
	for (i = 0; i < n; i++)
		if (from_hex(argv[i + 2], &needles[i]) < 0) {
			fprintf(stderr, "memgrep: '%s' is not hex\n", argv[i + 2]);
			return 2;
		}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	fd = open(path, O_RDONLY);
	buf = malloc(CHUNK + 256);
	if (!maps || fd < 0 || !buf) {
		perror("memgrep");
		return 2;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end, off;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r')
			continue;
		if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
			continue;
		/* AddressSanitizer's shadow: terabytes reserved, never a key. */
		if (end - start > MAX_MAPPING)
			continue;
		/* Chunks overlap by 255 bytes, so nothing is missed at a seam. */
		for (off = start; off < end; off += CHUNK) {
			size_t want = end - off > CHUNK + 255 ? CHUNK + 255 : end - off;
			ssize_t got = pread(fd, buf, want, (off_t)off);

			if (got <= 0)
				break;
			for (i = 0; i < n; i++) {
				size_t j;

				for (j = 0; j + needles[i].len <= (size_t)got; j++)
					if (buf[j] == needles[i].b[0] &&
					    !memcmp(buf + j, needles[i].b, needles[i].len)) {
						printf("memgrep: needle %d at %#lx (%s", i + 1, off + j, line);
						found = 1;
						break;
					}
			}
		}
	}
	fclose(maps);
	close(fd);
	free(buf);
	return found ? 0 : 1;
}
