using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Invoke-VmCommand -AsJob: one child job per VM. It ends once every child has ended and no more VMs can come
/// (<see cref="Seal"/>): Failed when a child failed, Stopped when stopped, else Completed.
/// </summary>
internal sealed class VmCommandJob : Job
{
    public const string JobTypeName = "VmCommandJob";

    private readonly object gate = new();
    private bool sealedForChildren;

    public VmCommandJob(string command)
        : base(command)
    {
        PSJobTypeName = JobTypeName;
    }

    public override string Location => string.Join(", ", Children().Select(child => child.VmName));

    public override bool HasMoreData => Children().Any(child => child.HasMoreData);

    public override string StatusMessage => "";

    public void Add(VmCommandChildJob child)
    {
        lock (gate)
        {
            ChildJobs.Add(child);
            if (JobStateInfo.State == JobState.NotStarted)
            {
                SetJobState(JobState.Running);
            }
        }

        child.StateChanged += (_, _) => FinishWhenDone();
    }

    /// <summary>No more children will be added: the job may now finish.</summary>
    public void Seal()
    {
        lock (gate)
        {
            sealedForChildren = true;
        }

        FinishWhenDone();
    }

    public override void StopJob()
    {
        SetJobState(JobState.Stopping);
        foreach (var child in Children())
        {
            child.StopJob();
        }

        Seal();
    }

    private IReadOnlyList<VmCommandChildJob> Children()
    {
        lock (gate)
        {
            return ChildJobs.Cast<VmCommandChildJob>().ToList();
        }
    }

    private void FinishWhenDone()
    {
        lock (gate)
        {
            var states = ChildJobs.Select(child => child.JobStateInfo.State).ToList();
            if (sealedForChildren && states.All(VmCommandChildJob.IsFinished) && !VmCommandChildJob.IsFinished(JobStateInfo.State))
            {
                SetJobState(
                    states.Contains(JobState.Stopped) ? JobState.Stopped
                    : states.Contains(JobState.Failed) ? JobState.Failed
                    : JobState.Completed);
            }
        }
    }
}
