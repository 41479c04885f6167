// A job's users read its progress (PipelineStats, TileClass) with the job: re-exported, so
// `import UpresKit` is enough for them, while displays import UpresProgress alone.
@_exported import UpresProgress
