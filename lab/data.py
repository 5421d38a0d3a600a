"""MNIST's files checked before torchvision reads them: gzipped ones unpacked, damaged ones named
in one line, and a failed download said in one line, with what to do."""
import contextlib
import math
import os
import socket
import struct
import tempfile
import zlib

import torchvision

from lab.errors import UserError

IDX_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def check_data_files(root, download):
    """Unpack .gz files put into MNIST/raw/ by hand, and raise a UserError naming the file if
    an IDX file that is there is damaged. torchvision wants all four, whichever split it reads."""
    raw = os.path.join(root, "MNIST", "raw")
    unpacked = unpack_gz_files(raw, download)
    for split in (True, False):
        check_idx_files(raw, split, download, unpacked)


@contextlib.contextmanager
def download_errors_in_one_line(root, download):
    """A failed or stalled download, or files that are missing, end the run in one line."""
    raw = os.path.join(root, "MNIST", "raw")
    timeout = socket.getdefaulttimeout()    # restored after: a notebook's later cells keep theirs
    socket.setdefaulttimeout(10)    # a connection that stalls fails in seconds, not never
    put_files = f"put the four IDX files (train-images-idx3-ubyte, ...) into {raw}/ and run again"
    try:
        yield
    except RuntimeError as err:
        if not download and "not found" in str(err):
            raise UserError(f"error: MNIST is not in {raw}/: run without --no-download to fetch it, "
                            "or put the four IDX files there")
        if "Error downloading" in str(err):
            raise UserError(f"error: could not download MNIST (is this machine offline?): {put_files}")
        raise
    except OSError as err:      # a stalled connection, or a folder that cannot be written
        reason = "the connection timed out" if isinstance(err, TimeoutError) else err.strerror
        raise UserError(f"error: could not download MNIST ({reason or err}): {put_files}")
    finally:
        socket.setdefaulttimeout(timeout)


def unpack_gz_files(raw, download):
    """Unpack the IDX files that were put into raw/ gzipped, as the mirrors serve them
    (train-images-idx3-ubyte.gz, ...), with torchvision's own helper. Returns the paths
    unpacked, so that an error can name the .gz that the user put there."""
    unpacked = []
    for name in [*IDX_FILES[True], *IDX_FILES[False]]:
        path = os.path.join(raw, name)
        if os.path.exists(path) or not os.path.exists(path + ".gz"):
            continue
        try:
            with tempfile.TemporaryDirectory(dir=raw) as folder:    # never half a file at path
                torchvision.datasets.utils.extract_archive(path + ".gz", folder)
                os.replace(os.path.join(folder, name), path)
        except (OSError, EOFError, zlib.error) as err:      # not gzip, cut short, or no room
            raise UserError(f"error: could not unpack {path}.gz ({getattr(err, 'strerror', None) or err}): "
                            + ("delete it and run again to download it" if download else
                        "replace it with the original"))
        unpacked.append(path)
    return unpacked


def check_idx_files(raw, train, download, unpacked=()):
    """A UserError naming the file if the images or labels of one split are truncated
    or corrupt, or disagree in number."""
    fix = "delete {0} and run again to download {0}" if download else "replace {0} with the original"
    counts = []
    for name, shape in zip(IDX_FILES[train], [(28, 28), ()]):
        path = os.path.join(raw, name)
        if not os.path.exists(path):
            return      # torchvision downloads missing files, or says that they are missing
        try:
            problem, count = idx_problem(path, shape)
        except OSError as err:      # a folder, or a file this user may not read
            raise UserError(f"error: {path} cannot be read ({err.strerror or err}): " + fix.format("it"))
        if problem and path in unpacked:   # name the .gz, and unpack it again next time
            os.remove(path)
            raise UserError(f"error: {path}.gz unpacks to a damaged file: {name} {problem}: "
                            + fix.format("the .gz"))
        if problem:
            raise UserError(f"error: {path} {problem}: " + fix.format("it"))
        counts.append(count)
    if counts[0] != counts[1]:
        raise UserError(f"error: {raw}/ holds {counts[0]:,} images but {counts[1]:,} labels: "
                        + fix.format("both"))


def idx_problem(path, shape):
    """What is wrong with an IDX file, or None, and the number of items its header promises.

    An IDX file is a big-endian header, 0x00000803 and the sizes N, 28, 28 for images or
    0x00000801 and N for labels, followed by N*28*28 or N bytes.
    """
    with open(path, "rb") as f:
        header = f.read(4 * (2 + len(shape)))
    fields = struct.unpack(f">{len(header) // 4}I", header[:len(header) // 4 * 4])
    if fields[:1] != (0x0801 + len(shape),) or fields[2:] != shape or len(fields) < 2:
        return "is not an MNIST IDX file (its header is wrong)", None
    expected = len(header) + fields[1] * math.prod(shape)
    if os.path.getsize(path) != expected:
        return (f"has {os.path.getsize(path):,} bytes where its header promises {expected:,}: "
                "it is truncated or corrupt"), None
    return None, fields[1]
