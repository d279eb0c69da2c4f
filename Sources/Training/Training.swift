/// Training: what the train and predict stages share: the data path from image shards to batches,
/// augmentations, samplers, the model ladder (baseline, multitask, selfdistill), the training loop and
/// checkpoints that rebuild a model on their own.
public enum TrainingLibrary {}
