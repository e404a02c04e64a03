module cgoshim.example/ioctl-loop

go 1.19
