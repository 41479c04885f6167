"""Golden pairs (input, ncnn's output) as float32 safetensors files, written with PyPI's package."""
import numpy as np
from safetensors.numpy import save_file


def write_golden(path, tensors, metadata):
    """Metadata values become strings: the format (and the Swift reader) allows nothing else."""
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, path,
              metadata={k: str(v) for k, v in metadata.items()})
