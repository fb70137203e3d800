# Removes the startup task install-service.ps1 registered. The system config stays (it may hold your edits):
# delete %ProgramData%\dotstub yourself if you want it gone. Run `dotstub system disable` first if dotstub is
# the machine's resolver, or the machine is left asking a resolver that no longer runs.
$ErrorActionPreference = 'Stop'
Stop-ScheduledTask -TaskName 'dotstub' -ErrorAction SilentlyContinue
Unregister-ScheduledTask -TaskName 'dotstub' -Confirm:$false -ErrorAction SilentlyContinue
Write-Output 'dotstub startup task removed'
