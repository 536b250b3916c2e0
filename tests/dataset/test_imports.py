"""What importing the package loads: the dataset modules defer their heavy imports."""

import subprocess
import sys


def test_search_stack_leaves_download_and_image_modules_unloaded():
    # urllib.request (with ssl, http, email) and PIL took 3 MiB of every search's
    # memory (bench/micro.py baseline); only a CIFAR-10 download and the ImageNet
    # loaders need them.
    code = ("import sys\n"
            "import nnabla_nas.cli, nnabla_nas.runner, nnabla_nas.dataset\n"
            "from nnabla_nas.contrib import darts, pnas\n"
            "print(' '.join(m for m in ('urllib.request', 'PIL', 'ssl') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == []
