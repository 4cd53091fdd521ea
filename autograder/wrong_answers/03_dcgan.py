"""Realistic mistakes in lesson 03 (DCGAN); each must lose points only in the test cells of its own exercise."""

WRONG_ANSWERS = [
    # Exercise 1: transposed-convolution output size
    dict(cell="conv_transpose_output_size", why="the convolution's formula floor((n + 2p - k) / s) + 1",
         replace=[("return (size - 1) * stride - 2 * padding + kernel + output_padding",
                   "return (size + 2 * padding - kernel) // stride + 1")]),
    dict(cell="conv_transpose_output_size", why="n * s instead of (n - 1) * s",
         replace=[("(size - 1) * stride", "size * stride")]),
    dict(cell="conv_transpose_output_size", why="padding subtracted once, not on both sides",
         replace=[("- 2 * padding", "- padding")]),
    dict(cell="conv_transpose_output_size", why="output_padding ignored",
         replace=[(" + output_padding", "")]),
    # Exercise 2: the generator
    dict(cell="generator", why="bias kept in the convolutions that BatchNorm follows",
         replace=[("nn.ConvTranspose2d(latent_dim, c, start, 1, 0, bias=False)",
                   "nn.ConvTranspose2d(latent_dim, c, start, 1, 0)"),
                  ("nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False)", "nn.ConvTranspose2d(c, c // 2, 4, 2, 1)")]),
    dict(cell="generator", why="BatchNorm also on the output layer",
         replace=[("nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()",
                   "nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.BatchNorm2d(channels), nn.Tanh()")]),
    dict(cell="generator", why="no BatchNorm at all",
         replace=[("nn.BatchNorm2d(c), nn.ReLU()", "nn.ReLU()"), ("nn.BatchNorm2d(c // 2), nn.ReLU()", "nn.ReLU()")]),
    dict(cell="generator", why="sigmoid output instead of tanh",
         replace=[("nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()",
                   "nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Sigmoid()")]),
    dict(cell="generator", why="no tanh on the output",
         replace=[("nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()", "nn.ConvTranspose2d(c, channels, 4, 2, 1)")]),
    dict(cell="generator", why="kernel 3 in the doubling layers (wrong output size)",
         replace=[("nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False)", "nn.ConvTranspose2d(c, c // 2, 3, 2, 1, bias=False)")]),
    dict(cell="generator", why="first layer kernel 4 for MNIST too (4 -> 8 -> 16, not 28)",
         replace=[("(7, 2) if image_size == 28 else (4, 3)", "(4, 2) if image_size == 28 else (4, 3)")]),
    dict(cell="generator", why="LeakyReLU in the generator",
         replace=[("nn.BatchNorm2d(c), nn.ReLU()", "nn.BatchNorm2d(c), nn.LeakyReLU(0.2)"),
                  ("nn.BatchNorm2d(c // 2), nn.ReLU()", "nn.BatchNorm2d(c // 2), nn.LeakyReLU(0.2)")]),
    dict(cell="generator", why="the code detached on the way in (no gradient reaches z)",
         replace=[("return self.net(z.view(len(z), -1, 1, 1))", "return self.net(z.detach().view(len(z), -1, 1, 1))")]),
    # Exercise 3: the discriminator
    dict(cell="discriminator", why="BatchNorm on the input layer too",
         replace=[("[nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]",
                   "[nn.Conv2d(channels, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2)]")]),
    dict(cell="discriminator", why="sigmoid at the end (probabilities, not logits)",
         replace=[("return self.net(x).flatten()", "return torch.sigmoid(self.net(x)).flatten()")]),
    dict(cell="discriminator", why="ReLU instead of LeakyReLU",
         replace=[("[nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]", "[nn.Conv2d(channels, width, 4, 2, 1), nn.ReLU()]"),
                  ("nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]", "nn.BatchNorm2d(2 * c), nn.ReLU()]")]),
    dict(cell="discriminator", why="logits returned with shape (N, 1, 1, 1), not (N,)",
         replace=[("return self.net(x).flatten()", "return self.net(x)")]),
    dict(cell="discriminator", why="no BatchNorm in the discriminator",
         replace=[("nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)",
                   "nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2)")]),
    dict(cell="discriminator", why="LeakyReLU with PyTorch's default slope 0.01",
         replace=[("[nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]",
                   "[nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU()]"),
                  ("nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]", "nn.BatchNorm2d(2 * c), nn.LeakyReLU()]")]),
    # Exercise 4: the training step
    dict(cell="train_step", why="fakes not detached in the D step",
         replace=[("D(aug(fake.detach()))", "D(aug(fake))")]),
    dict(cell="train_step", why="opt_d.zero_grad() missing: D's gradients accumulate across steps",
         replace=[("    opt_d.zero_grad()\n", "")]),
    dict(cell="train_step", why="opt_g.zero_grad() missing: G's gradients accumulate across steps",
         replace=[("    opt_g.zero_grad()\n", "")]),
    dict(cell="train_step", why="G step before the D step",
         replace=[("""    # D step: L_D = mean softplus(-l_real) + mean softplus(l_fake); the fakes are constants here (detach)
    real_logits = D(aug(real))
    fake_logits = D(aug(fake.detach()))
    loss_d = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()

    # G step through the updated D: L_G = mean softplus(-l(G(z))) = -mean log D(G(z))
    loss_g = F.softplus(-D(aug(fake))).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
""", """    loss_g = F.softplus(-D(aug(fake))).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()

    real_logits = D(aug(real))
    fake_logits = D(aug(fake.detach()))
    loss_d = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
""")]),
    dict(cell="train_step", why="the G step steps D's optimizer",
         replace=[("    opt_g.step()\n", "    opt_d.step()\n")]),
    dict(cell="train_step", why="d_real / d_fake returned as mean logits instead of mean D",
         replace=[("torch.sigmoid(real_logits).mean().item()", "real_logits.mean().item()"),
                  ("torch.sigmoid(fake_logits).mean().item()", "fake_logits.mean().item()")]),
    dict(cell="train_step", why="d_real and d_fake swapped",
         replace=[('"d_real": torch.sigmoid(real_logits)', '"d_real": torch.sigmoid(fake_logits)'),
                  ('"d_fake": torch.sigmoid(fake_logits)', '"d_fake": torch.sigmoid(real_logits)')]),
    dict(cell="train_step", why="d_fake measured after D's update (from the G step)",
         replace=[("loss_g = F.softplus(-D(aug(fake))).mean()",
                   "fake_logits = D(aug(fake))\n    loss_g = F.softplus(-fake_logits).mean()")]),
    dict(cell="train_step", why="augmentation applied only to the real batch",
         replace=[("D(aug(fake.detach()))", "D(fake.detach())"), ("D(aug(fake))", "D(fake)")]),
    dict(cell="train_step", why="augmentation missing in the G step",
         replace=[("D(aug(fake))", "D(fake)")]),
    dict(cell="train_step", why="networks left in eval mode (no G.train() / D.train())",
         replace=[("    G.train()\n    D.train()\n", "")]),
    dict(cell="train_step", why="saturating generator loss log(1 - D(G(z)))",
         replace=[("loss_g = F.softplus(-D(aug(fake))).mean()", "loss_g = -F.softplus(D(aug(fake))).mean()")]),
    # Exercise 5: the training loop with EMA
    dict(cell="train_dcgan", why="EMA half-life and batch size swapped (decay the wrong way round)",
         replace=[("EMA(G, ema_half_life_images, batch_size=len(real))", "EMA(G, len(real), batch_size=ema_half_life_images)")]),
    dict(cell="train_dcgan", why="half-life read as steps: batch_size=1",
         replace=[("EMA(G, ema_half_life_images, batch_size=len(real))", "EMA(G, ema_half_life_images, batch_size=1)")]),
    dict(cell="train_dcgan", why="ema.update before the training step (averages last step's weights)",
         replace=[("""        stats = train_step(G, D, opt_g, opt_d, real, latent_dim, generator, augment)
        if ema is not None:
            ema.update(G)   # theta_bar <- beta theta_bar + (1 - beta) theta, with theta after this step
""", """        if ema is not None:
            ema.update(G)
        stats = train_step(G, D, opt_g, opt_d, real, latent_dim, generator, augment)
""")]),
    dict(cell="train_dcgan", why="EMA updated only at logged steps",
         replace=[("""        if ema is not None:
            ema.update(G)   # theta_bar <- beta theta_bar + (1 - beta) theta, with theta after this step
        if step == 1 or step % log_every == 0:
""", """        if step == 1 or step % log_every == 0:
            if ema is not None:
                ema.update(G)
""")]),
    dict(cell="train_dcgan", why="steps counted from 0 (logs at 0, 2, 4 and one step short)",
         replace=[("for step in range(1, steps + 1):", "for step in range(steps):"),
                  ("if step == 1 and ema_half_life_images:", "if step == 0 and ema_half_life_images:")]),
    dict(cell="train_dcgan", why="augment not passed on to train_step",
         replace=[("train_step(G, D, opt_g, opt_d, real, latent_dim, generator, augment)",
                   "train_step(G, D, opt_g, opt_d, real, latent_dim, generator)")]),
    dict(cell="train_dcgan", why="on_log never called",
         replace=[("                on_log(step, history)\n", "                pass\n")]),
]
