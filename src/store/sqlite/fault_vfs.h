#pragma once
// FaultVfs: an SQLite VFS for tests, over the platform's default, that produces disk faults a
// unit test cannot get from a real file system on demand. Shared by the store's and the stream
// mappings' tests. Test code only.

#include <sqlite3.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace hirestream::store::test_faults {

// A VFS over the platform's default with two faults:
// - while `refuse_writes` is set, its files refuse every write, truncate, sync and delete with
//   EROFS: what a file system the kernel turned read-only under the open database does (ext4
//   with errors=remount-ro after an error; tests/e2e produces that for real as root). Reads,
//   locks and the WAL index pass through, as they do there.
// - while writes to the main database file are held (hold_db_writes()), the first such write
//   waits until release_db_writes(): in WAL mode only a checkpoint writes there, so a test can
//   act while a checkpoint is mid-copy, as it would be while copying a large WAL.
class FaultVfs {
public:
    static constexpr const char* kName = "hirestream-test-faults";
    static inline std::atomic<bool> refuse_writes{false};

    static void hold_db_writes() {
        std::lock_guard lock(hold_mutex_);
        holding_ = true;
        held_ = false;
    }
    // Waits until a write to the main database file is held, or `timeout`.
    static bool wait_until_held(std::chrono::milliseconds timeout) {
        std::unique_lock lock(hold_mutex_);
        return hold_cv_.wait_for(lock, timeout, [] { return held_; });
    }
    static void release_db_writes() {
        {
            std::lock_guard lock(hold_mutex_);
            holding_ = false;
        }
        hold_cv_.notify_all();
    }

    // Registers the VFS once (not as the default); returns its name.
    static const char* install() {
        static std::once_flag once;
        std::call_once(once, [] {
            static sqlite3_vfs vfs = *sqlite3_vfs_find(nullptr);
            base_ = sqlite3_vfs_find(nullptr);
            vfs.zName = kName;
            vfs.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
            vfs.xOpen = &open;
            vfs.xDelete = &remove;
            vfs.pNext = nullptr;
            sqlite3_vfs_register(&vfs, 0);
        });
        return kName;
    }

private:
    struct File {
        sqlite3_file base;
        sqlite3_file* real;  // the default VFS's file, allocated right after this struct
        int last_errno;
        bool main_db;
    };
    static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
    static int refuse(sqlite3_file* f, int rc) {
        reinterpret_cast<File*>(f)->last_errno = EROFS;
        return rc;
    }

    static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
                    int* out_flags) {
        auto* f = reinterpret_cast<File*>(file);
        f->real = reinterpret_cast<sqlite3_file*>(f + 1);
        f->last_errno = 0;
        f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
        const int rc = base_->xOpen(base_, name, f->real, flags, out_flags);
        f->base.pMethods = f->real->pMethods != nullptr ? &kMethods : nullptr;
        return rc;
    }
    static int remove(sqlite3_vfs*, const char* name, int sync_dir) {
        if (refuse_writes) return SQLITE_IOERR_DELETE;
        return base_->xDelete(base_, name, sync_dir);
    }

    static int close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
    static int read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
        return real(f)->pMethods->xRead(real(f), buf, n, off);
    }
    static int write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
        if (refuse_writes) return refuse(f, SQLITE_IOERR_WRITE);
        if (reinterpret_cast<File*>(f)->main_db) {
            std::unique_lock lock(hold_mutex_);
            if (holding_) {
                held_ = true;
                hold_cv_.notify_all();
                hold_cv_.wait(lock, [] { return !holding_; });
            }
        }
        return real(f)->pMethods->xWrite(real(f), buf, n, off);
    }
    static int truncate(sqlite3_file* f, sqlite3_int64 size) {
        if (refuse_writes) return refuse(f, SQLITE_IOERR_TRUNCATE);
        return real(f)->pMethods->xTruncate(real(f), size);
    }
    static int sync(sqlite3_file* f, int flags) {
        if (refuse_writes) return refuse(f, SQLITE_IOERR_FSYNC);
        return real(f)->pMethods->xSync(real(f), flags);
    }
    static int file_size(sqlite3_file* f, sqlite3_int64* size) {
        return real(f)->pMethods->xFileSize(real(f), size);
    }
    static int lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
    static int unlock(sqlite3_file* f, int level) {
        return real(f)->pMethods->xUnlock(real(f), level);
    }
    static int check_reserved(sqlite3_file* f, int* out) {
        return real(f)->pMethods->xCheckReservedLock(real(f), out);
    }
    static int file_control(sqlite3_file* f, int op, void* arg) {
        const int err = reinterpret_cast<File*>(f)->last_errno;
        if (op == SQLITE_FCNTL_LAST_ERRNO && err != 0) {
            *static_cast<int*>(arg) = err;
            return SQLITE_OK;
        }
        return real(f)->pMethods->xFileControl(real(f), op, arg);
    }
    static int sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
    static int device_characteristics(sqlite3_file* f) {
        return real(f)->pMethods->xDeviceCharacteristics(real(f));
    }
    static int shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
        return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
    }
    static int shm_lock(sqlite3_file* f, int offset, int n, int flags) {
        return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
    }
    static void shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
    static int shm_unmap(sqlite3_file* f, int delete_flag) {
        return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
    }
    static int fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
        return real(f)->pMethods->xFetch(real(f), off, n, out);
    }
    static int unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
        return real(f)->pMethods->xUnfetch(real(f), off, p);
    }

    static inline sqlite3_vfs* base_ = nullptr;
    static inline std::mutex hold_mutex_;
    static inline std::condition_variable hold_cv_;
    static inline bool holding_ = false;  // guarded by hold_mutex_
    static inline bool held_ = false;     // guarded by hold_mutex_
    // Version 3: with the WAL index (xShm*) and memory-mapped reads (xFetch).
    static constexpr sqlite3_io_methods kMethods = {
        3,        &close,          &read,         &write,       &truncate,
        &sync,    &file_size,      &lock,         &unlock,      &check_reserved,
        &file_control,             &sector_size,  &device_characteristics,
        &shm_map, &shm_lock,       &shm_barrier,  &shm_unmap,   &fetch,
        &unfetch};
};

}  // namespace hirestream::store::test_faults
