"""Export and deployment: inference graphs (ONNX and torch.export), freezing with checkpoint weights, label_image."""
