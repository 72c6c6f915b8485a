/* boot_load: read the kernel, tell its kind, hand it to the right loader. */
#include "boot.h"

#include "engine/log.h"
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int boot_file_read(const char *path, const char *what, struct boot_file *f)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(f, 0, sizeof(*f));
	if (fd < 0) {
		int err = errno;
		log_error("cannot open %s '%s': %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("%s '%s' is not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	f->size = (size_t)st.st_size;
	f->data = malloc(f->size ? f->size : 1);
	if (!f->data) {
		close(fd);
		log_error("%s '%s': out of memory reading %zu bytes", what, path, f->size);
		return -ENOMEM;
	}
	for (size_t done = 0; done < f->size;) {
		ssize_t n = read(fd, f->data + done, f->size - done);
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			log_error("reading %s '%s' failed: %s", what, path, strerror(err));
			close(fd);
			boot_file_free(f);
			return -err;
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

void boot_file_free(struct boot_file *f)
{
	free(f->data);
	f->data = NULL;
	f->size = 0;
}

int boot_load_initramfs(const struct guest_mem *m, const char *path, uint64_t not_below, uint64_t limit,
			uint64_t *addr, uint64_t *size)
{
	struct boot_file rd;
	int ret = boot_file_read(path, "initramfs", &rd);
	if (ret < 0)
		return ret;
	uint64_t low_end = guest_mem_low_end(m);
	uint64_t top = low_end < limit ? low_end : limit;
	uint64_t at = rd.size <= top ? (top - rd.size) & ~0xfffull : 0;
	if (rd.size > top || at < not_below) {
		log_error("initramfs '%s' (%zu bytes) does not fit in guest RAM above the kernel", path, rd.size);
		boot_file_free(&rd);
		return -ENOMEM;
	}
	guest_mem_write(m, at, rd.data, rd.size);
	*addr = at;
	*size = rd.size;
	boot_file_free(&rd);
	return 0;
}

int boot_load(const struct guest_mem *m, const struct boot_config *c, struct boot_state *out)
{
	struct boot_file k;
	int ret;

	if (!c->kernel) {
		log_error("no kernel given: use --kernel PATH (a bzImage or a PVH ELF)");
		return -EINVAL;
	}
	if (c->cmdline && strlen(c->cmdline) >= LAYOUT_CMDLINE_MAX) {
		log_error("--cmdline is %zu bytes; at most %llu fit", strlen(c->cmdline),
			  (unsigned long long)LAYOUT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if ((ret = boot_file_read(c->kernel, "kernel", &k)) < 0)
		return ret;
	if (k.size >= 4 && !memcmp(k.data, "\x7f" "ELF", 4))
		ret = boot_load_pvh(m, &k, c, out);
	else if (k.size >= 0x206 && !memcmp(k.data + 0x202, "HdrS", 4))
		ret = boot_load_bzimage(m, &k, c, out);
	else {
		log_error("kernel '%s' is neither a bzImage nor an ELF with a PVH entry note", c->kernel);
		ret = -ENOEXEC;
	}
	boot_file_free(&k);
	return ret;
}
