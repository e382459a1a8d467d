"""Weights as people bring them, for apps/cli/test/weights.test.ts: seeded torchvision models saved with
torch.save (AlexNet under torchvision's own file name, ResNet-18 with batch-norm statistics), SqueezeNet 1.1
exported by torch.onnx.export, a 256x256 test image, and PyTorch's softmax output for that image after
torchvision's centre crop and normalisation (the image is already 256 on its short side, so no resize).

usage: torchvision_weights.py OUT_DIR
"""
import json
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

out = sys.argv[1]
rng = np.random.RandomState(1)
# A smooth colour field plus noise: structure that a random network still maps to a non-flat output.
yy, xx = np.mgrid[0:256, 0:256] / 255.0
base = np.stack([np.sin(6 * xx + 2 * yy), np.cos(5 * yy - 3 * xx), np.sin(4 * (xx + yy))], -1) * 0.4 + 0.5
img = np.clip((base + rng.rand(256, 256, 3) * 0.2) * 255, 0, 255).astype('uint8')
Image.fromarray(img).save(f'{out}/image.png')
x = torch.from_numpy(img).permute(2, 0, 1).float().div(255)[:, 16:240, 16:240]
mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
x = ((x - mean) / std)[None]

expected = {}
for name, fname in [('alexnet', 'alexnet-owt-7be5be79.pth'), ('resnet18', 'resnet18.pth'), ('squeezenet1_1', 'squeezenet1_1.onnx')]:
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)().eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                # Statistics other than the initial 0 / 1, and a step count (int64 in the file).
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.num_batches_tracked.fill_(7)
        probs = torch.softmax(m(x), -1)[0]
    if fname.endswith('.onnx'):
        torch.onnx.export(m, x, f'{out}/{fname}', opset_version=13)
    else:
        torch.save(m.state_dict(), f'{out}/{fname}')
    expected[name] = {'file': fname, 'probs': probs.tolist()}
json.dump(expected, open(f'{out}/expected.json', 'w'))
