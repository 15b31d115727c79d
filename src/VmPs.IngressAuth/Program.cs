using VmPs.IngressAuth;

return await CheckerHost.RunAsync(args).ConfigureAwait(false);
